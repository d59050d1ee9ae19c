{#- The PDF's cover (mkdocs-print-site-plugin renders it at the top of print_page/). No typed digits: the number
    audit reads the print page like every other page. -#}
<div class="hb-cover">
  <p class="hb-cover__kicker">Offline edition</p>
  <h1 class="hb-cover__title">{{ config.site_name }}</h1>
  <p class="hb-cover__lead">{{ config.site_description }}</p>
  <p class="hb-cover__note">
    Every chapter, company profile, mock interview and calculator of the site in one file. Calculators appear as the
    tables and charts the build computed at their default scenarios; the interactive versions are on the site.
    Values shown here come from the same tested model as the site's, and each one is listed with its formula or
    source in the value ledger (<code>values.json</code>).
  </p>
</div>

"""Every question and worked problem offers "copy link"; it works from the keyboard and copies the heading's address."""

from __future__ import annotations

PAGE = "serving/capacity/"


def test_copy_link_on_questions_and_worked_problems(browser, site_server):
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(site_server.base)
                  else route.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(site_server.base + PAGE, wait_until="networkidle")
        targets = page.eval_on_selector_all(
            "article h2[id^='wp-'], article h3[id^='wp-'], article [data-difficulty][id^='q-']",
            "els => els.map(e => [e.id, !!e.querySelector('button.hb-copy-link')])")
        assert len(targets) >= 4, targets
        assert all(has for _, has in targets), [anchor for anchor, has in targets if not has]

        # Keyboard only: focus the question's button, press Enter; the clipboard holds the deep link.
        button = page.locator("#q-serving-001 button.hb-copy-link")
        button.focus()
        page.keyboard.press("Enter")
        page.locator("#q-serving-001 .hb-copy-link__status").filter(has_text="Link copied").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == site_server.base + PAGE + "#q-serving-001"

        # Space on the worked problem's button.
        page.locator("#wp-serving-launch-fleet button.hb-copy-link").focus()
        page.keyboard.press("Space")
        page.locator("#wp-serving-launch-fleet .hb-copy-link__status").filter(has_text="Link copied").wait_for()
        assert page.evaluate("navigator.clipboard.readText()").endswith("#wp-serving-launch-fleet")
        assert not errors, errors
    finally:
        context.close()


def test_copy_link_falls_back_to_a_selected_field(browser, site_server):
    """Without clipboard access the link is shown selected in a field, never lost silently."""
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(site_server.base + PAGE, wait_until="networkidle")
        page.evaluate("Object.defineProperty(navigator, 'clipboard', { value: undefined })")
        page.locator("#q-serving-002 button.hb-copy-link").click()
        field = page.locator("#q-serving-002 .hb-copy-link__field")
        field.wait_for(state="visible")
        assert field.input_value() == site_server.base + PAGE + "#q-serving-002"
        assert page.evaluate("document.activeElement.classList.contains('hb-copy-link__field')")
    finally:
        context.close()

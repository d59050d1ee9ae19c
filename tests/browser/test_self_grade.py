"""The self-grading sheet in Chromium, offline: grading gives a score and the weakest changes, answers survive a
reload through localStorage only, the keyboard alone can grade, reset clears, and print shows the notes, not the
text boxes. It loads no Python."""

from __future__ import annotations

PAGE = "interview/self-grading/"
ROOT = "[data-widget=self-grade]"
GRADES = {"clarify": "2", "quantify": "0", "commit": "1", "depth": "2", "operations": "0", "listening": "1", "time": "2"}


def _open(page, server) -> None:
    page.goto(server.base + PAGE, wait_until="domcontentloaded")
    page.wait_for_function(f"() => document.querySelector('{ROOT}')?.dataset.ready === 'true'")


def _grade(page, grades: dict) -> None:
    for name, value in grades.items():
        page.check(f'{ROOT} input[name="{name}"][value="{value}"]')


def test_grading_scores_and_lists_the_weakest_changes(watched, site_server):
    page, watch = watched
    watch.current = PAGE
    _open(page, site_server)
    assert "Grade each question" not in page.inner_text(f'{ROOT} [data-output="score"]')  # the script took over
    _grade(page, dict(list(GRADES.items())[:3]))
    assert page.get_attribute(f'{ROOT} [data-output="score"]', "data-value") == ""
    _grade(page, GRADES)
    # by hand: 2 + 0 + 1 + 2 + 0 + 1 + 2 = 8 of 14 points
    score = page.locator(f'{ROOT} [data-output="score"]')
    assert float(score.get_attribute("data-value")) == 8 / 14
    assert "8 of 14 points" in score.inner_text()
    changes = page.locator(f'{ROOT} [data-output="changes"] li').all_inner_texts()
    assert len(changes) == 3
    assert changes[0].startswith("Did I put numbers on it?")  # missing ones first, in the sheet's order
    assert changes[1].startswith("Did I cover operations?")
    assert changes[2].startswith("Did I commit to choices?")
    assert not any(request for request in page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
                   if "pyodide" in request), "the sheet needs no Python"
    assert not watch.problems()


def test_answers_persist_in_local_storage_and_reset_clears_them(watched, site_server):
    page, watch = watched
    watch.current = PAGE
    _open(page, site_server)
    _grade(page, GRADES)
    page.fill(f'{ROOT} textarea[name="quantify_note"]', "Never computed the cache.")
    page.reload(wait_until="domcontentloaded")
    page.wait_for_function(f"() => document.querySelector('{ROOT}')?.dataset.ready === 'true'")
    for name, value in GRADES.items():
        assert page.is_checked(f'{ROOT} input[name="{name}"][value="{value}"]'), name
    assert page.input_value(f'{ROOT} textarea[name="quantify_note"]') == "Never computed the cache."
    stored = page.evaluate("JSON.parse(localStorage.getItem('hb-self-grade'))")
    assert stored["grades"] == GRADES
    page.click(f'{ROOT} [data-action="reset"]')
    assert page.evaluate("localStorage.getItem('hb-self-grade')") is None
    assert not page.locator(f"{ROOT} input[type=radio]:checked").count()
    assert not watch.problems()


def test_a_corrupt_stored_entry_does_not_break_the_sheet(watched, site_server):
    page, watch = watched
    watch.current = PAGE
    page.goto(site_server.base + PAGE, wait_until="domcontentloaded")
    page.evaluate("""localStorage.setItem('hb-self-grade', JSON.stringify({grades: {clarify: '9', depth: '1', x: '2'},
                                                                          notes: {depth: 5}}))""")
    page.reload(wait_until="domcontentloaded")
    page.wait_for_function(f"() => document.querySelector('{ROOT}')?.dataset.ready === 'true'")
    assert page.is_checked(f'{ROOT} input[name="depth"][value="1"]')
    assert page.locator(f"{ROOT} input[type=radio]:checked").count() == 1
    assert not watch.problems()


def test_keyboard_alone_can_grade(watched, site_server):
    page, watch = watched
    watch.current = PAGE
    _open(page, site_server)
    page.focus(f'{ROOT} input[name="clarify"][value="0"]')
    page.keyboard.press("Space")
    assert page.is_checked(f'{ROOT} input[name="clarify"][value="0"]')
    page.keyboard.press("ArrowRight")  # arrow keys move the choice within the group
    assert page.is_checked(f'{ROOT} input[name="clarify"][value="1"]')
    assert page.evaluate("JSON.parse(localStorage.getItem('hb-self-grade')).grades.clarify") == "1"
    page.keyboard.press("Tab")  # next stop: the note for the same question
    assert page.evaluate("document.activeElement.name") == "clarify_note"
    assert not watch.problems()


def test_controls_are_labelled(watched, site_server):
    page, _ = watched
    _open(page, site_server)
    unlabelled = page.evaluate(f"""() => [...document.querySelectorAll('{ROOT} input, {ROOT} textarea, {ROOT} button')]
        .filter(el => !(el.labels && el.labels.length) && !el.textContent.trim() && !el.getAttribute('aria-label'))
        .map(el => el.outerHTML)""")
    assert unlabelled == []
    legends = page.locator(f"{ROOT} fieldset legend").count()
    assert legends == page.locator(f"{ROOT} fieldset").count() == len(GRADES)


def test_print_shows_notes_instead_of_text_boxes(watched, site_server):
    page, watch = watched
    watch.current = PAGE
    _open(page, site_server)
    _grade(page, GRADES)
    page.fill(f'{ROOT} textarea[name="depth_note"]', "Explained preemption and its metric.")
    page.emulate_media(media="print")
    assert not page.is_visible(f'{ROOT} textarea[name="depth_note"]')
    assert not page.is_visible(f'{ROOT} [data-action="print"]')
    assert page.inner_text(f'{ROOT} [data-print-for="depth_note"]') == "Explained preemption and its metric."
    assert page.is_visible(f'{ROOT} [data-print-for="depth_note"]')
    assert not page.is_visible(f'{ROOT} [data-print-for="clarify_note"]')  # empty notes take no space
    assert not watch.problems()


def test_axe_finds_no_serious_violations_in_both_states(watched, site_server, axe):
    page, _ = watched
    _open(page, site_server)
    assert axe(page, ROOT) == []
    _grade(page, GRADES)
    assert axe(page, ROOT) == []


def test_mounts_after_instant_navigation(watched, site_server, built_site_url):
    page, watch = watched
    watch.current = "interview/ -> " + PAGE
    page.goto(site_server.base + "interview/", wait_until="load")
    page.wait_for_function("() => window.HB && window.document$")
    page.click(f'{"article"} a[href$="self-grading/"]')
    page.wait_for_function(f"() => document.querySelector('{ROOT}')?.dataset.ready === 'true'")
    _grade(page, GRADES)
    assert "8 of 14 points" in page.inner_text(f'{ROOT} [data-output="score"]')
    assert not watch.problems()

"""The web app in a real headless Chromium, against a real server and store.

Covers the issue's walk-through: sign-in, purpose, search, profile (flags on top,
CONFIRMED vs POSSIBLE, possible matches, prior concerns), a flag's evidence, the
network (expand, paths), a steward's decision and the within-system duplicates filter,
the auditor's log, a partner system refused casework, the CSP (nothing from another
origin), GraphiQL bundled locally, and an axe-core accessibility check (WCAG 2.1 A/AA)
of every screen.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from cpgraph.linkage.reasons import KEPT_APART_REASONS
from cpgraph.linkage.spec import REVIEWABLE_GUARDS
from tests.browser.conftest import Watched
from tests.browser.world import World

pytestmark = pytest.mark.e2e

CASE, REASON = "CP-2026-0042", "section 47 enquiry"
PURPOSE = f"{CASE}; {REASON}"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def shot(page: Any, screens: Path, name: str) -> None:
    """Screenshot the viewport as a small palette PNG."""
    from PIL import Image  # noqa: PLC0415

    path = screens / f"{name}.png"
    page.screenshot(path=str(path))
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def sign_in(page: Any, base: str, token: str, route: str = "", purpose: bool = True) -> None:
    """Open the app (at `route`), sign in with `token`, give the purpose if asked."""
    page.goto(f"{base}/{route}")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    if purpose:
        page.get_by_label("Case reference").fill(CASE)
        page.get_by_label("Reason").fill(REASON)
        page.get_by_role("button", name="Continue").click()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """WCAG 2.1 A/AA violations axe-core finds on the page as it is now."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target)}))"
    )
    return list(result)


def no_csp_trouble(w: Watched, base: str) -> None:
    """Nothing was blocked by the CSP, nothing failed, nothing left this origin."""
    assert not [e for e in w.errors if "Content Security Policy" in e or "pageerror" in e], w.errors
    outside = [r.url for r in w.requests if not r.url.startswith((base, "data:"))]
    assert not outside, outside


def test_printed_url_reaches_the_childs_network_in_three_clicks(
    watched: Watched, base_url: str, world: World, screens: Path
) -> None:
    page = watched.page
    page.goto(f"{base_url}/#/network/{world.possible_child}")  # what `cpgraph demo` prints
    assert page.get_by_role("heading", name="Sign in").is_visible()
    shot(page, screens, "01-sign-in")
    page.get_by_label("API token").fill(world.tokens["investigator"])
    page.get_by_role("button", name="Sign in").click()  # click 1
    page.get_by_role("heading", name="Why are you looking?").wait_for()
    page.get_by_label("Case reference").fill(CASE)
    page.get_by_label("Reason").fill(REASON)
    shot(page, screens, "02-purpose")
    page.get_by_role("button", name="Continue").click()  # click 2
    page.get_by_role("heading", name=f"Network of {world.child_name}").wait_for()
    assert page.get_by_test_id("purpose").inner_text().count(PURPOSE) == 1
    # every request with person data carried the purpose; the token never left memory
    bodies = [r for r in watched.requests if r.url.endswith("/graphql")]
    assert bodies and all(r.headers.get("x-purpose") == PURPOSE for r in bodies[1:])
    assert page.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)") == "{}{}"
    assert world.tokens["investigator"] not in page.content()
    status = page.locator("p[role=status]").first.inner_text()
    assert re.search(r"\d+ people, \d+ events", status), status
    no_csp_trouble(watched, base_url)


def test_purpose_is_asked_again_after_a_reload(
    watched: Watched, base_url: str, world: World
) -> None:
    page = watched.page
    sign_in(page, base_url, world.tokens["investigator"], "#/search")
    page.get_by_role("heading", name="Search people").wait_for()
    page.reload()
    page.get_by_role("heading", name="Sign in").wait_for()
    # the purpose can be changed, and the new one goes with the next read
    sign_in(page, base_url, world.tokens["investigator"], "#/search")
    page.get_by_role("button", name="Change purpose").click()
    page.get_by_label("Reason").fill("strategy meeting")
    page.get_by_role("button", name="Continue").click()
    assert f"{CASE}; strategy meeting" in page.get_by_test_id("purpose").inner_text()


def test_search_profile_flags_and_concerns(
    watched: Watched, base_url: str, world: World, screens: Path
) -> None:
    page = watched.page
    sign_in(page, base_url, world.tokens["investigator"])
    page.get_by_label("Name").fill(str(world.child_name))
    page.get_by_role("button", name="Search", exact=True).click()
    table = page.locator("table caption", has_text="ranked result")
    table.wait_for()
    first = page.locator("tbody tr").first
    assert world.child_name in first.inner_text()
    shot(page, screens, "03-search")
    first.get_by_role("link", name=str(world.child_name), exact=True).click()
    page.get_by_role("heading", name=str(world.child_name), level=1).wait_for()
    # flags first, under the person's heading; POSSIBLE said in words, not only colour
    sections = page.locator("main > section h2").all_inner_texts()
    assert sections[0].startswith("Safeguarding flags"), sections
    flag = page.locator("article.flag.possible").first
    assert "Possible — awaiting a data steward's decision" in flag.inner_text()
    assert "awaits a data steward's decision" in flag.inner_text()
    # prior concerns across agencies, each with its date and agency
    concerns = page.locator("section[aria-labelledby=concerns-h] li.event")
    assert concerns.count() >= 1
    for text in concerns.all_inner_texts():
        assert re.match(r"\d{4}-\d{2}-\d{2} ", text), text
    assert page.locator("section[aria-labelledby=ids-h] table tbody tr").count() >= 1
    page.get_by_role("heading", name=re.compile(r"Possible matches \(\d+\)")).wait_for()
    shot(page, screens, "04-profile")
    # a flag's evidence: the path to the adult, ending in the possible match
    flag.locator("summary", has_text="Evidence").click()
    hops = flag.locator("ol.path > li")
    assert hops.count() >= 2
    assert "possibly the same person as" in hops.last.inner_text()
    flag.scroll_into_view_if_needed()
    shot(page, screens, "05-flag-evidence")
    # the adult the doubt is about: his possible match is listed as such
    adult = hops.last.locator("a").first
    adult_name = adult.inner_text()
    adult.click()
    page.get_by_role("heading", name=adult_name, level=1).wait_for()
    page.get_by_role("heading", name=re.compile(r"Possible matches \([1-9]\d*\)")).wait_for()
    match = page.locator("li.possible-match").first
    assert "Possible match" in match.inner_text() and "kept apart" in match.inner_text()
    # and what its reason means, from the API's catalogue (keptApartReasons)
    meaning = match.locator(".reason-meaning").inner_text()
    assert meaning in KEPT_APART_REASONS.values()
    match.scroll_into_view_if_needed()
    shot(page, screens, "05b-possible-match")
    no_csp_trouble(watched, base_url)


def test_network_expand_and_paths(
    watched: Watched, base_url: str, world: World, screens: Path
) -> None:
    page = watched.page
    sign_in(page, base_url, world.tokens["investigator"], f"#/network/{world.possible_child}")
    page.get_by_role("heading", name=f"Network of {world.child_name}").wait_for()
    status = page.locator("p[role=status]").first

    def people() -> int:
        return int(re.search(r"(\d+) (?:people|person)", status.inner_text()).group(1))  # type: ignore[union-attr]

    before = people()
    expand = page.locator(".node-list button", has_text="Expand").last
    label = expand.get_attribute("aria-label")
    expand.click()
    page.wait_for_function(
        f"() => !document.querySelector('.node-list button[aria-label=\"{label}\"]')"
    )
    assert people() >= before
    expanded = str(label).removeprefix("Expand ")
    assert page.get_by_role("heading", level=2, name=expanded).is_visible()
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, screens, "06-network")
    # paths from the child to the farthest person listed
    options = page.locator("select[name=to] option").all()
    page.locator("select[name=to]").select_option(options[-1].get_attribute("value"))
    page.get_by_role("button", name="Find paths").click()
    page.locator(".path-card").first.wait_for()
    hops = page.locator(".path-card").first.locator("ol.path > li")
    assert hops.count() >= 1
    assert "→" in hops.first.inner_text()
    page.locator(".paths").scroll_into_view_if_needed()
    shot(page, screens, "07-paths")
    no_csp_trouble(watched, base_url)


def test_partner_system_sees_the_summary_and_is_refused_casework(
    watched: Watched, base_url: str, world: World, screens: Path
) -> None:
    page = watched.page
    sign_in(page, base_url, world.tokens["partner_system"], f"#/person/{world.possible_child}")
    page.get_by_role("heading", name=str(world.child_name), level=1).wait_for()
    # the summary: flags with reasons, no people on the path, no network, no records
    assert page.locator("article.flag").count() >= 1
    assert page.get_by_role("link", name="Network").count() == 0
    assert page.locator("section[aria-labelledby=ids-h]").count() == 0
    page.locator("article.flag summary").first.click()
    assert page.locator("article.flag ol.path a").count() == 0
    # what the browser asked for, the partner may see: replayed, the API answers it
    token = world.tokens["partner_system"]
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE}
    for body in watched.graphql_bodies():
        answer = httpx.post(
            f"{base_url}/graphql",
            content=body,
            headers={**headers, "Content-Type": "application/json"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
    # the network is not offered; asked for by URL, nothing is requested
    sent = len(watched.graphql_bodies())
    page.goto(f"{base_url}/#/network/{world.possible_child}")
    page.get_by_role("heading", name="Not available to your role").wait_for()
    assert len(watched.graphql_bodies()) == sent

    # a refusal from the API itself (a casework field asked with a partner token) is
    # shown as such, not as a crash
    def ask_for_records(route: Any) -> None:
        data = json.loads(route.request.post_data or "{}")
        extra = "datesOfBirth sourceRecords { totalCount }"
        data["query"] = data["query"].replace("datesOfBirth", extra)
        route.continue_(post_data=json.dumps(data))

    page.route("**/graphql", ask_for_records)
    page.goto(f"{base_url}/#/person/{world.possible_child}")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Your role may not see this" in alert.inner_text()
    assert "sourceRecords" in alert.inner_text()
    shot(page, screens, "09-partner-refused")


def test_steward_review_decision_shows_at_once(
    watched: Watched, base_url: str, world: World, screens: Path
) -> None:
    page = watched.page
    sign_in(page, base_url, world.tokens["data_steward"], "#/review")
    page.get_by_role("heading", name="Review queue").wait_for()
    page.get_by_label("Flagged child").select_option("false")
    page.get_by_role("button", name="Apply filters").click()
    page.locator("#pair-h").wait_for()
    waiting = int(page.locator("#queue-h").inner_text().split()[0])
    assert waiting >= 1
    pair = page.locator("table.pair")
    assert pair.locator("thead th").all_inner_texts()[1:3] == ["Record A", "Record B"]
    assert page.locator("svg.waterfall rect").count() >= 2
    assert "waterfall" in (page.locator("svg.waterfall").get_attribute("aria-label") or "")
    shot(page, screens, "08-review")
    item = page.locator(".queue-list li.current").get_attribute("data-id")
    page.get_by_label("Reason for the decision").fill("different NHS numbers on both records")
    page.get_by_role("button", name="Reject: different people").click()
    result = page.locator("form.decision p.result")
    result.filter(has_text="Recorded").wait_for()
    assert "no link" in result.inner_text()
    # it leaves the list at once, and the queue reloaded from the API agrees
    page.wait_for_function(
        "n => Number(document.querySelector('#queue-h')?.textContent.split(' ')[0]) < n",
        arg=waiting,
    )
    assert page.locator(f".queue-list li[data-id='{item}']").count() == 0
    no_csp_trouble(watched, base_url)


def test_steward_can_filter_by_every_reason_a_pair_is_kept_apart(
    watched: Watched, base_url: str, world: World
) -> None:
    """#13: a reviewable guard's name is a reason a steward can pick, like the gate's.

    The choice is built from the API's catalogue (`keptApartReasons`), not a copy kept
    in the page: every code the linkage may give a pair is offered, with its meaning.
    """
    page = watched.page
    sign_in(page, base_url, world.tokens["data_steward"], "#/review")
    page.get_by_role("heading", name="Review queue").wait_for()
    offered = (
        page.get_by_label("Why kept apart")
        .locator("option")
        .evaluate_all("os => os.map(o => o.value)")
    )
    assert offered == ["", *KEPT_APART_REASONS]
    assert set(REVIEWABLE_GUARDS) <= set(offered)
    titles = (
        page.get_by_label("Why kept apart")
        .locator("option")
        .evaluate_all("os => os.map(o => o.title)")
    )
    assert titles == ["", *KEPT_APART_REASONS.values()]
    # the page lists what the API holds under the guard's name: the filter reaches the API
    every = _queue_total(base_url, world.tokens["data_steward"], None)
    guarded = _queue_total(base_url, world.tokens["data_steward"], "index_namesakes_at_home")
    assert guarded < every
    page.get_by_label("Why kept apart").select_option("index_namesakes_at_home")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function(
        "n => document.querySelector('#queue-h')?.textContent === `${n} waiting`", arg=guarded
    )
    for li in page.locator(".queue-list li[data-id]").all():
        assert "namesakes" in li.inner_text().lower()
    # the pair shown says what its reason means
    assert guarded >= 1
    meaning = page.locator(".review-detail .reason-meaning")
    meaning.wait_for()
    assert KEPT_APART_REASONS["index_namesakes_at_home"] in meaning.inner_text()
    no_csp_trouble(watched, base_url)


REASON_QUEUE = """
query ByReason($reason: String) { reviewQueue(first: 1, reason: $reason) { totalCount } }"""


def _queue_total(base: str, token: str, reason: str | None) -> int:
    """How many pairs the API's queue holds for ``reason`` (None: any)."""
    answer = httpx.post(
        f"{base}/graphql",
        json={"query": REASON_QUEUE, "variables": {"reason": reason}},
        headers={"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["reviewQueue"]["totalCount"]


WITHIN_QUEUE = """
query Within($within: Boolean) {
  reviewQueue(first: 20, withinSystem: $within) {
    totalCount edges { node { id withinSystem } }
  }
}"""


def _queue_by_api(base: str, token: str, within: bool | None) -> tuple[int, list[tuple[str, str]]]:
    """The queue's total and (id, withinSystem) of its first page, as the API answers it."""
    answer = httpx.post(
        f"{base}/graphql",
        json={"query": WITHIN_QUEUE, "variables": {"within": within}},
        headers={"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    queue = answer.json()["data"]["reviewQueue"]
    items = [(e["node"]["id"], e["node"]["withinSystem"]) for e in queue["edges"]]
    return queue["totalCount"], items


def _listed_after_filter(page: Any, choice: str, total: int) -> list[tuple[str, str]]:
    """Apply the within-system filter; (data-id, its duplicate badge's text) of each item."""
    page.get_by_label("Duplicates inside one system").select_option(choice)
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function(
        "n => document.querySelector('#queue-h')?.textContent === `${n} waiting`", arg=total
    )
    listed = []
    for li in page.locator(".queue-list li[data-id]").all():
        badge = li.locator(".badge.within")
        listed.append((li.get_attribute("data-id"), badge.inner_text() if badge.count() else ""))
    return listed


def test_steward_filters_duplicates_inside_one_system(
    watched: Watched, base_url: str, world: World
) -> None:
    """#19: the queue shows only (or none of) the pairs inside one system's own index."""
    token = world.tokens["data_steward"]
    every, _ = _queue_by_api(base_url, token, None)
    within, expected = _queue_by_api(base_url, token, True)
    apart, expected_apart = _queue_by_api(base_url, token, False)
    # the world has both kinds, so the filter must narrow the queue
    assert 1 <= within < every and within + apart == every
    assert all(system for _, system in expected)
    page = watched.page
    sign_in(page, base_url, token, "#/review")
    page.locator("#pair-h").wait_for()
    listed = _listed_after_filter(page, "true", within)
    assert listed == [(i, f"duplicate inside {system}") for i, system in expected]
    assert '"withinSystem":true' in watched.graphql_bodies()[-1].replace(" ", "")
    note = page.locator(".review-detail .within-note")
    assert note.inner_text().startswith(f"duplicate inside {expected[0][1]}")
    listed = _listed_after_filter(page, "false", apart)
    assert listed == [(i, "") for i, _ in expected_apart]
    assert page.locator(".review-detail .within-note").count() == 0
    no_csp_trouble(watched, base_url)


def test_auditor_sees_the_log_with_purposes(
    watched: Watched, base_url: str, world: World, screens: Path
) -> None:
    page = watched.page
    # reads to audit, whatever ran before
    headers = {"Authorization": f"Bearer {world.tokens['investigator']}", "X-Purpose": PURPOSE}
    for _ in range(3):
        body = {"query": "query($id: ID!) { person(id: $id) { id } }"}
        body["variables"] = {"id": world.possible_child}
        assert httpx.post(f"{base_url}/graphql", json=body, headers=headers).status_code == 200
    sign_in(page, base_url, world.tokens["auditor"], purpose=False)
    page.get_by_role("heading", name="Audit log").wait_for()
    page.locator("table.audit-table tbody tr").first.wait_for()
    assert "link to one another" in page.get_by_test_id("chain-status").inner_text()
    shot(page, screens, "10-audit")
    page.get_by_label("User").fill("investigator-web")
    page.get_by_role("button", name="Show").click()
    page.get_by_label("Purpose contains").fill(REASON)
    page.locator("table.audit-table caption", has_text="entries shown").wait_for()
    page.wait_for_function(
        "() => { const rows = [...document.querySelectorAll('table.audit-table tbody tr')];"
        " return rows.length >= 3 && rows.every(r => r.textContent.includes('investigator-web')); }"
    )
    rows = page.locator("table.audit-table tbody tr")
    assert rows.count() >= 3
    for text in rows.all_inner_texts():
        assert "investigator-web" in text and PURPOSE in text
    no_csp_trouble(watched, base_url)


def test_keyboard_only_sign_in(watched: Watched, base_url: str, world: World) -> None:
    page = watched.page
    page.goto(f"{base_url}/")
    page.get_by_role("heading", name="Sign in").wait_for()
    # the skip link comes first and lands on the content; from the heading, Tab reaches
    # the token field
    assert page.evaluate("document.querySelector('a, button, input').className") == "skip"
    page.locator("a.skip").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.textContent") == "Sign in"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "token"
    page.keyboard.type(world.tokens["investigator"])
    page.keyboard.press("Enter")
    page.get_by_label("Case reference").wait_for()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") in {"case", "reason"}
    page.get_by_label("Case reference").focus()
    page.keyboard.type(CASE)
    page.keyboard.press("Tab")
    page.keyboard.type(REASON)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Search people").wait_for()


ROLE_SCREENS = [
    ("investigator", "#/search?name={name}", "table caption"),
    ("investigator", "#/person/{child}", "section.flags"),
    ("investigator", "#/network/{child}", ".node-list li"),
    ("data_steward", "#/review", "#pair-h"),
    ("auditor", "#/audit", "table.audit-table"),
    ("partner_system", "#/person/{child}", "section.flags"),
]


def test_accessibility_axe(watched: Watched, base_url: str, world: World) -> None:
    page = watched.page
    page.goto(f"{base_url}/")
    page.get_by_role("heading", name="Sign in").wait_for()
    problems = {"sign-in": axe_violations(page)}
    for role, route, ready in ROLE_SCREENS:
        target = route.format(name=world.child_name, child=world.possible_child)
        page.goto(f"{base_url}/#/")
        page.reload()
        sign_in(page, base_url, world.tokens[role], target, purpose=role != "auditor")
        page.locator(ready).first.wait_for()
        for details in page.locator("details").all()[:5]:
            details.evaluate("d => d.open = true")
        problems[f"{role} {route}"] = axe_violations(page)
    assert not {k: v for k, v in problems.items() if v}, problems


def test_graphiql_is_served_locally(watched: Watched, base_url: str) -> None:
    page = watched.page
    page.goto(f"{base_url}/graphql")
    page.locator(".graphiql-container").wait_for()
    page.locator(".graphiql-execute-button").click()  # `{ me }` without a token: 401 shown
    page.locator(".result-window", has_text="UNAUTHENTICATED").wait_for()
    assert not [e for e in watched.errors if "Content Security Policy" in e], watched.errors
    assert all(r.url.startswith(base_url) for r in watched.requests), [
        r.url for r in watched.requests
    ]


def test_steward_split_and_merge(watched: Watched, base_url: str, world: World) -> None:
    """Runs last: it changes who the child's records resolve to."""
    page = watched.page
    sign_in(page, base_url, world.tokens["data_steward"], f"#/person/{world.possible_child}")
    page.get_by_role("heading", name=str(world.child_name), level=1).wait_for()
    boxes = page.get_by_role("checkbox", name=re.compile("Split off record"))
    before = boxes.count()
    assert before >= 2
    boxes.last.check()
    page.get_by_label("Reason for the split").fill("school record belongs to a cousin")
    page.get_by_role("button", name="Split", exact=True).click()
    done = page.locator("form.steward-tools p[role=status]")
    done.filter(has_text="Split recorded").wait_for()
    assert re.search(r"P\d+ has 1 record", done.inner_text()), done.inner_text()
    page.reload()  # signs out: the token lived in memory only
    sign_in(page, base_url, world.tokens["data_steward"], f"#/person/{world.possible_child}")
    page.get_by_role("heading", name=str(world.child_name), level=1).wait_for()
    assert boxes.count() == before - 1
    # a merge from the review queue, with its reason
    page.goto(f"{base_url}/#/review")
    page.locator("#pair-h").wait_for()
    page.locator("summary", has_text="Merge the two persons directly").click()
    page.get_by_label("Reason for the merge").fill("same NHS number confirmed by the GP")
    page.get_by_role("button", name=re.compile(r"^Merge P\d+ and P\d+$")).click()
    page.locator("details p[role=status]", has_text="Merged (decision").wait_for()

"""Every process opens in bpmn-js (the library behind bpmn.io and Camunda Modeler) without a warning
and draws every element; a screenshot of each lands in tests/artifacts/processes/ for review."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lxml import etree

from tests.processes.conftest import PROCESSES
from tests.processes.test_definitions import FILES, NS

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = (ROOT / "web/static/vendor/bpmn-js", ROOT / "web/assets/node_modules/bpmn-js/dist")
VENDOR = next((p for p in CANDIDATES if (p / "bpmn-viewer.production.min.js").is_file()), None)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests/artifacts/processes"

pytestmark = pytest.mark.skipif(VENDOR is None or not Path(CHROMIUM).exists(),
                                reason="bpmn-js or chromium is not installed")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    playwright = pytest.importorskip("playwright.sync_api")
    html = tmp_path_factory.mktemp("viewer") / "viewer.html"
    css = [VENDOR / "assets/diagram-js.css", VENDOR / "assets/bpmn-js.css"]
    links = "".join(f'<link rel="stylesheet" href="file://{c}">' for c in css if c.exists())
    html.write_text(f"""<html><head><meta charset="utf-8">{links}
<style>html,body,#c{{margin:0;width:100%;height:100%;background:#fff}}</style>
<script src="file://{VENDOR}/bpmn-viewer.production.min.js"></script></head>
<body><div id="c"></div></body></html>""", encoding="utf-8")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        tab = browser.new_page(viewport={"width": 1600, "height": 900})
        tab.goto(f"file://{html}")
        yield tab
        browser.close()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_the_diagram_opens_in_bpmn_js_and_draws_every_element(page, path):
    result = page.evaluate("""async (xml) => {
        const viewer = new BpmnJS({container: '#c'});
        try {
            const {warnings} = await viewer.importXML(xml);
            const canvas = viewer.get('canvas');
            const box = canvas.viewbox().inner;
            canvas.viewbox({x: box.x - 20, y: box.y - 20, width: box.width + 40, height: box.height + 40});
            const ids = viewer.get('elementRegistry').getAll().map(e => e.id);
            window.lastViewer && window.lastViewer.destroy();
            window.lastViewer = viewer;
            return {warnings: warnings.map(w => w.message), ids, width: box.width, height: box.height};
        } catch (error) {
            return {error: String(error), warnings: (error.warnings || []).map(w => w.message)};
        }
    }""", path.read_text(encoding="utf-8"))
    assert "error" not in result, json.dumps(result, ensure_ascii=False)
    assert result["warnings"] == []
    root = etree.parse(str(PROCESSES / path.name)).getroot()
    drawn = set(root.xpath("//bpmndi:BPMNShape/@bpmnElement | //bpmndi:BPMNEdge/@bpmnElement", namespaces=NS))
    assert drawn <= set(result["ids"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width, height = int(result["width"]) + 40, int(result["height"]) + 40
    page.set_viewport_size({"width": width, "height": height})
    page.evaluate("() => window.lastViewer.get('canvas').zoom('fit-viewport')")
    page.screenshot(path=str(ARTIFACTS / f"{path.stem}.png"))

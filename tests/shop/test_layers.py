"""The apps import in one direction (docs/architecture.md, Layers): the import-linter
contracts hold, and no two apps import each other, not even inside a function."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_linter_contracts_are_kept():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), str(ROOT / ".importlinter"), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_no_two_apps_import_each_other():
    result = subprocess.run([sys.executable, str(ROOT / "bin" / "app-imports")], cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "circles between two apps: none" in result.stdout
    layers = [
        "shop", "currencies", "addresses", "catalog", "inventory", "shipping", "taxes", "discounts", "cart", "orders", "payments",
        "accounts", "checkout",
    ]
    sibling_layers = [{"currencies", "addresses"}, {"shipping", "taxes", "discounts"}]  # none imports another
    graph = {
        app.strip(): [] if targets == "(nothing)" else targets.split(", ")
        for app, targets in (line.split(" -> ") for line in result.stdout.splitlines()[:-1])
    }
    assert set(graph) == set(layers)
    for app, targets in graph.items():  # every import points down the layers
        assert all(layers.index(target) < layers.index(app) for target in targets), (app, targets)
        assert not any(app in siblings and siblings & set(targets) for siblings in sibling_layers), (app, targets)
    assert graph["shop"] == [] and "payments" not in graph["orders"]

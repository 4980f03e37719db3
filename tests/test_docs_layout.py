"""The import rules of docs/design/layout.md, enforced by reading every module's imports (AST, nothing imported).

A rule broken here names the file, the line and the import; the page says why the rule exists.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = {"pandas", "pyarrow", "matplotlib", "joblib", "sympy", "dask", "distributed", "tqdm", "scipy", "torch",
         "cupy", "sklearn"}
#: Private names still imported across modules (rule 5): none left; a new one fails the test.
KNOWN_PRIVATE: set = set()


def part(rel: Path) -> str:
    """kernel | shell | problems | verify, as on the layout page."""
    if rel.parts[0] == "adago_theory":
        return "shell" if rel.parts[1:2] == ("app",) or rel.name == "__main__.py" and len(rel.parts) == 2 \
            else "kernel"
    return rel.parts[0]


def target_part(module: str) -> str | None:
    top = module.split(".")[0]
    if module.startswith("adago_theory.app"):
        return "shell"
    return {"adago_theory": "kernel", "problems": "problems", "verify": "verify"}.get(top)


def imports(rel: Path):
    """``(line, module, name or None, at_module_level)`` for every import of a file, relative ones resolved."""
    tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"), filename=str(rel))
    me = ".".join(rel.with_suffix("").parts)
    pkg = me[: -len(".__init__")] if rel.name == "__init__.py" else me.rsplit(".", 1)[0]
    module_level = set()
    for node in tree.body:  # module level, including inside top-level if/try blocks
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            module_level.add(id(n))
            stack.extend(ast.iter_child_nodes(n))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name, None, id(node) in module_level
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            for a in node.names:
                yield node.lineno, mod, a.name, id(node) in module_level


FILES = sorted(p.relative_to(ROOT) for top in ("adago_theory", "problems", "verify")
               for p in (ROOT / top).rglob("*.py"))

ALLOWED = {
    "kernel": {"kernel"},
    "problems": {"kernel", "problems"},
    "verify": {"kernel", "problems", "verify", "plotting"},
    "shell": {"kernel", "problems", "verify", "shell"},
}


def test_the_scan_sees_the_tree():
    parts = {part(f) for f in FILES}
    assert parts == {"kernel", "shell", "problems", "verify"} and len(FILES) > 60


@pytest.mark.parametrize("rel", FILES, ids=str)
def test_imports_follow_the_layout(rel):
    me = part(rel)
    broken = []
    for line, mod, name, at_top in imports(rel):
        tp = target_part(mod)
        if tp is not None:
            kind = "plotting" if mod == "adago_theory.app.plotting" else tp
            if kind not in ALLOWED[me] and not (kind == "plotting" and "shell" in ALLOWED[me]):
                broken.append(f"{rel}:{line}: the {me} imports {mod} (rule 1/3: {me} may import "
                              f"{', '.join(sorted(ALLOWED[me]))})")
            if name and name.startswith("_") and not name.startswith("__") and mod != ".".join(
                    rel.with_suffix("").parts) and (str(rel), f"{mod}.{name}") not in KNOWN_PRIVATE:
                broken.append(f"{rel}:{line}: imports the private name {name} from {mod} (rule 5)")
        if (me == "kernel" and at_top and mod.split(".")[0] in HEAVY
                and rel.parts[:2] != ("adago_theory", "torch_optim")):
            broken.append(f"{rel}:{line}: the kernel imports {mod} at module level (rule 2)")
    assert not broken, "\n".join(broken)


def _is_module(mod: str) -> bool:
    p = ROOT.joinpath(*mod.split("."))
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists()


def private_attributes(rel: Path, source: str | None = None):
    """``"file:line: alias._name (module)"`` for every private name reached through a first-party module
    bound to a name (``import x.y as m``, ``from x import y`` with ``y`` a module): rule 5 by another road."""
    tree = ast.parse(source if source is not None else (ROOT / rel).read_text(encoding="utf-8"))
    me = ".".join(rel.with_suffix("").parts)
    pkg = me[: -len(".__init__")] if rel.name == "__init__.py" else me.rsplit(".", 1)[0]
    alias = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname and target_part(a.name) is not None:
                    alias[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if target_part(mod) is None:
                continue
            for a in node.names:
                if _is_module(f"{mod}.{a.name}"):
                    alias[a.asname or a.name] = f"{mod}.{a.name}"
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in alias
                and node.attr.startswith("_") and not node.attr.startswith("__") and alias[node.value.id] != me):
            found.append(f"{rel}:{node.lineno}: {node.value.id}.{node.attr} ({alias[node.value.id]}, rule 5)")
    return found


@pytest.mark.parametrize("rel", FILES, ids=str)
def test_no_private_names_through_a_module(rel):
    found = private_attributes(rel)
    assert not found, "\n".join(found)


def test_the_module_scan_sees_a_private_name():
    """The scan above can fail: a planted ``module._name`` in each import form is found, public names are not."""
    src = ("from adago_theory import orthogonalize as O\n"
           "from ..optim import base\n"
           "import adago_theory.backend as B\n"
           "x = O._newton_schulz_torch, base._runs, B._IS_TORCH, O.orthogonalize, B.__name__\n")
    found = private_attributes(Path("adago_theory/torch_optim/engine.py"), src)
    assert [f.split(": ")[1].split(" ")[0] for f in found] == ["O._newton_schulz_torch", "base._runs", "B._IS_TORCH"]


def test_known_private_imports_still_exist():
    """The list of known exceptions only shrinks: an entry that no longer occurs must be removed."""
    seen = {(str(rel), f"{mod}.{name}") for rel in FILES for _, mod, name, _ in imports(rel) if name}
    assert KNOWN_PRIVATE <= seen, sorted(KNOWN_PRIVATE - seen)


def test_import_adago_theory_is_light():
    """Rule 2 as the user sees it: ``import adago_theory`` loads none of the heavy libraries."""
    code = ("import sys, adago_theory; heavy = %r; "
            "print(sorted(m for m in heavy if m in sys.modules))" % sorted(HEAVY))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_no_first_party_entry_points():
    """Rule 4: pyproject.toml declares no entry points for first-party problems or verbs."""
    text = (ROOT / "pyproject.toml").read_text()
    assert '[project.entry-points."adago_theory.problems"]' not in text
    assert '[project.entry-points."adago_theory.commands"]' not in text

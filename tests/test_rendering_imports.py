"""Content and media depend one way: the renderer imports neither the library nor the database.

The old circle (media -> usage -> posts -> rendering -> renditions -> media) was held apart by
imports inside functions; now every import in cms/services is at module level, and each module
of the former circle imports first in a fresh interpreter.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parent.parent / "cms" / "services"
# What the rendering package must never pull in: it is given a library instead.
NOT_FROM_RENDERING = (
    "cms.extensions", "cms.models", "cms.services.media", "cms.services.media_library",
    "cms.services.renditions", "cms.services.usage", "cms.services.posts",
    "cms.services.rerender", "flask_sqlalchemy",
)  # fmt: skip
FORMER_CIRCLE = (
    "cms.services.media", "cms.services.usage", "cms.services.posts", "cms.services.rendering",
    "cms.services.renditions", "cms.services.media_library", "cms.services.rerender",
)  # fmt: skip


def modules_after_importing(module: str) -> set[str]:
    """Return the names in sys.modules after importing `module` in a fresh interpreter."""
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_the_rendering_package_imports_nothing_of_media_or_the_database():
    loaded = modules_after_importing("cms.services.rendering")
    pulled = sorted(
        name
        for name in loaded
        if any(name == bad or name.startswith(bad + ".") for bad in NOT_FROM_RENDERING)
    )
    assert pulled == []
    assert "cms.services.rendering.pipeline" in loaded  # the check is real


@pytest.mark.parametrize("module", FORMER_CIRCLE)
def test_each_module_of_the_former_circle_imports_first(module):
    assert module in modules_after_importing(module)


def test_no_import_of_our_code_hides_inside_a_function_in_services():
    hidden = []
    for path in sorted(SERVICES.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                names = []
                if isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                if any(name == "cms" or name.startswith("cms.") for name in names):
                    hidden.append(f"{path.relative_to(SERVICES)}:{node.lineno}")
    assert hidden == []

"""Writing compiled strategies: atomically, and never over a file generated from another tree
(names such as ``a-b`` and ``a_b`` share the class name ``AB``) or written by hand."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from plugins.strategy_tree.compilers import ENGINES, compile_tree
from plugins.strategy_tree.errors import CompileConflictError
from tests.conftest import REPO_ROOT
from tests.plugins.strategy_tree.trees import make_tree, tree_dict


@pytest.mark.parametrize("engine", ENGINES)
def test_compile_when_another_trees_file_has_the_class_name_then_refused_and_file_kept(engine, tmp_path):
    # Arrange
    [path] = compile_tree(make_tree(name="a-b"), tmp_path, engine)
    before = path.read_bytes()
    # Act
    with pytest.raises(CompileConflictError) as err:
        compile_tree(make_tree(name="a_b"), tmp_path, engine)
    # Assert
    message = str(err.value)
    assert "'a_b'" in message and "'a-b'" in message and str(path) in message
    assert "rename" in message
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["AB.py"]


@pytest.mark.parametrize("engine", ENGINES)
def test_compile_when_same_tree_changed_then_its_file_is_replaced_atomically(engine, tmp_path):
    # Arrange
    [path] = compile_tree(make_tree(["close > 0"], name="a-b"), tmp_path, engine)
    inode = path.stat().st_ino
    # Act
    [again] = compile_tree(make_tree(["close > 1"], name="a-b"), tmp_path, engine)
    # Assert: a new file renamed over the old one (os.replace), not rewritten in place
    assert again == path and "close > 1" in path.read_text()
    assert path.stat().st_ino != inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["AB.py"]  # no temporary file left


@pytest.mark.parametrize("engine", ENGINES)
def test_compile_when_target_written_by_hand_then_refused_and_file_kept(engine, tmp_path):
    # Arrange
    mine = tmp_path / "AB.py"
    mine.write_text("class AB:  # my own strategy\n    pass\n")
    # Act
    with pytest.raises(CompileConflictError, match="not generated from a strategy tree"):
        compile_tree(make_tree(name="a-b"), tmp_path, engine)
    # Assert
    assert mine.read_text() == "class AB:  # my own strategy\n    pass\n"


def test_cli_compile_when_class_name_taken_by_another_tree_then_exit_1_one_line_no_traceback(tmp_path):
    # Arrange
    for name in ("a-b", "a_b"):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump({"strategy": tree_dict(name=name)}))
    run = [sys.executable, "-m", "plugins.strategy_tree", "compile"]
    out = ["--engine", "freqtrade", "--out", str(tmp_path / "out")]
    first = subprocess.run([*run, str(tmp_path / "a-b.yaml"), *out], cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=60)
    # Act
    second = subprocess.run([*run, str(tmp_path / "a_b.yaml"), *out], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    # Assert
    assert first.returncode == 0, first.stderr
    assert second.returncode == 1 and "Traceback" not in second.stderr
    [line] = second.stderr.strip().splitlines()
    assert "'a_b'" in line and "'a-b'" in line and "AB.py" in line


def test_cli_validate_when_name_has_a_repeated_separator_then_exit_1_naming_the_fix(tmp_path):
    # Arrange
    tree = tmp_path / "t.yaml"
    tree.write_text(yaml.safe_dump({"strategy": tree_dict(name="a..b")}))
    # Act
    done = subprocess.run([sys.executable, "-m", "plugins.strategy_tree", "validate", str(tree)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    # Assert
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert "strategy.name: " in done.stdout and "repeated or trailing separator" in done.stdout

"""The built wheel carries templates/, hls/, the zoo and the calibration set, and finds them."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    res = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    (whl,) = out.glob("srhw-*.whl")
    return whl


def test_wheel_ships_templates_hls_rtl_sim_zoo_and_calibration(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in (p.relative_to(ROOT).as_posix() for d in ("templates", "hls", "rtl", "sim") for p in (ROOT / d).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts):
        assert f"srhw/_shipped/{rel}" in names, rel
    assert "srhw/zoo/onnx/fsrcnn_x2.onnx" in names
    assert any(n.startswith("srhw/data/calib/") and n.endswith(".png") for n in names)
    assert any(n.endswith("entry_points.txt") for n in names)


def test_installed_layout_resolves_shipped_folders(wheel, tmp_path):
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    code = "import srhw.resources as r; print(r.templates_dir()); print(r.hls_dir()); print(r.rtl_dir()); print(r.sim_dir())"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(tmp_path / "site")})
    assert res.returncode == 0, res.stderr
    t, h, r, s = res.stdout.split()
    assert t.startswith(str(tmp_path / "site")) and t.endswith("_shipped/templates")
    assert h.endswith("_shipped/hls") and r.endswith("_shipped/rtl") and s.endswith("_shipped/sim")

"""The C-simulation build line (srhw.backends.csim): the precompiled vendor headers are used
where GCC accepts them and never change what is built."""
import subprocess
from pathlib import Path


from srhw.backends.csim import PCH_HEADER, cxx_command, precompiled_header


def test_the_precompiled_header_is_built_once_and_used(tmp_path, monkeypatch):
    monkeypatch.setenv("SRHW_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "t.cpp"
    src.write_text('#include "ap_fixed.h"\n#include <cstdio>\n'
                   'int main() { ap_fixed<12, 4> a = 1.75; ap_fixed<12, 4> b = -2.5;\n'
                   '  std::printf("%d\\n", (int)((a * b) * 64)); return 0; }\n')
    cmd = cxx_command([src], tmp_path, tmp_path / "t")
    pch = Path(cmd[cmd.index("-include") + 1])
    gch = pch.with_name(pch.name + ".gch")
    assert pch.parent.parent == tmp_path / "cache" / "pch" and pch.read_text() == PCH_HEADER and gch.is_file()
    stamp = gch.stat().st_mtime_ns
    assert cxx_command([src], tmp_path, tmp_path / "t") == cmd and gch.stat().st_mtime_ns == stamp  # not rebuilt
    # -H marks a precompiled header GCC used with "!"; the program computes 1.75 * -2.5 * 64 = -280
    build = subprocess.run([*cmd, "-H", "-Winvalid-pch"], capture_output=True, text=True)
    assert build.returncode == 0 and f"! {gch}" in build.stderr, build.stderr[-2000:]
    assert subprocess.run([tmp_path / "t"], capture_output=True, text=True).stdout == "-280\n"
    # another optimisation level is another header
    other = cxx_command([src], tmp_path, tmp_path / "t", opt="-O2")
    assert other[other.index("-include") + 1] != str(pch)


def test_no_precompiled_header_where_gcc_is_not_the_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("SRHW_CACHE_DIR", str(tmp_path / "cache"))
    fake = tmp_path / "c++"
    fake.write_text("#!/bin/sh\necho 'clang version 18'\n")
    fake.chmod(0o755)
    assert precompiled_header(str(fake), ["-O2"]) is None
    assert precompiled_header(str(tmp_path / "missing"), ["-O2"]) is None
    assert "-include" not in cxx_command([tmp_path / "t.cpp"], tmp_path, tmp_path / "t", cxx=str(fake))

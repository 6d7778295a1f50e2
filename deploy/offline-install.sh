#!/bin/sh
# Install Shifan from this folder with no network (the bundle `make bundle` builds; this file is its install.sh):
#   ./install.sh [PREFIX]        default /opt/shifan; PYTHON=/path/to/python3.11 to choose the interpreter
# PREFIX becomes a virtualenv made with Python 3.11; every package comes from wheels/ and is checked against the
# SHA-256 hashes in requirements.lock. Nothing is fetched: pip's own settings (a mirror, extra indexes) are
# ignored here. Running it again over the same PREFIX upgrades that installation in place.
set -eu

PREFIX="${1:-/opt/shifan}"
HERE="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${PYTHON:-python3.11}"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "安装失败：找不到 Python 3.11（$PYTHON）。请先安装 Python 3.11，或用 PYTHON=/路径/python3.11 $0 指定。" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "安装失败：$PYTHON 的版本是 $("$PYTHON" --version 2>&1)，本系统需要 Python 3.11。" >&2
  exit 1
fi
if ! "$PYTHON" -m venv "$PREFIX"; then
  echo "安装失败：无法在 $PREFIX 建立 Python 虚拟环境（检查目录权限；Debian/Ubuntu 需安装 python3.11-venv）。" >&2
  exit 1
fi

# Only this folder's wheels: no index, no pip configuration of this machine, no cache to write.
for variable in $(env | sed -n 's/^\(PIP_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$variable"; done
export PIP_CONFIG_FILE=/dev/null PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1

if ! "$PREFIX/bin/python" -m pip install --quiet --no-index --find-links "$HERE/wheels" --only-binary=:all: \
  --require-hashes -r "$HERE/requirements.lock"; then
  echo "安装失败：安装包不完整或已损坏（文件校验不一致）。请重新拷贝完整的安装包后再试。" >&2
  exit 1
fi
"$PREFIX/bin/shifan" --help >/dev/null

echo "安装完成：$PREFIX/bin/shifan"
echo "下一步（在存放数据的目录中执行，默认数据写在当前目录的 var/ 下）："
echo "  $PREFIX/bin/shifan migrate                    # 建立或升级数据库"
echo "  $PREFIX/bin/shifan demo --serve --port 8000   # 试用：载入陵川县演示数据并启动服务"
echo "  $PREFIX/bin/shifan serve --host 0.0.0.0 --port 8000   # 正式运行"

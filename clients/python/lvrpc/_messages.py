"""Imports every generated *_pb2 module (clients/python/lv, from protoc) so the default descriptor
pool knows every message type."""
import importlib
import pkgutil

import lv

for _info in pkgutil.walk_packages(lv.__path__, "lv."):
    if _info.name.endswith("_pb2"):
        importlib.import_module(_info.name)

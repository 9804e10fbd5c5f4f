"""Prints the declared field types of transformers' config classes as JSON.

Usage: python config_types.py
Output: {"transformers": version, "classes": {model_type: {field: type}}, "aliases": {model_type: {alias: field}}}
The type strings are the dataclass annotations with classes written by name ("int", "float | int",
"list[float] | tuple[float, ...]"), the form src/core/arch/upstream-config-types.ts stores.
"""
import dataclasses
import inspect
import json
import re
import sys

import transformers
from transformers import Mamba2Config, NemotronHConfig


def type_text(t) -> str:
    if isinstance(t, type):
        return t.__name__
    s = str(t)
    s = re.sub(r"<class '([\w.]+)'>", lambda m: m.group(1).split(".")[-1], s)
    s = s.replace("typing.", "").replace("torch.dtype", "dtype")
    return s


def aliases(cls) -> dict:
    # __post_init__ pops legacy keys: `self.X = kwargs.pop("Y") if "Y" in kwargs else self.X`.
    src = inspect.getsource(cls.__post_init__)
    return {m.group(2): m.group(1) for m in re.finditer(r'self\.(\w+) = \(?\s*kwargs\.pop\("(\w+)"\)\s+if', src)}


out = {"transformers": transformers.__version__, "classes": {}, "aliases": {}}
for cls in (NemotronHConfig, Mamba2Config):
    out["classes"][cls.model_type] = {f.name: type_text(f.type) for f in dataclasses.fields(cls)}
    out["aliases"][cls.model_type] = aliases(cls)
json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()

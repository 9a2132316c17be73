"""Every error a person or a client can see has one stable code and a message in each language."""

from __future__ import annotations

import importlib
import pkgutil

import payez
from payez.domain.errors import PayezError, all_error_classes


def load_every_module() -> None:
    for module in pkgutil.walk_packages(payez.__path__, prefix="payez."):
        if module.name.endswith("__main__"):
            continue  # running it would start the command line
        importlib.import_module(module.name)


def test_codes_are_unique_and_every_error_speaks_french_and_english() -> None:
    load_every_module()
    classes = all_error_classes()
    assert len(classes) > 50
    codes: dict[str, type[PayezError]] = {}
    for cls in classes:
        if "code" in vars(cls):  # a class that only groups others may inherit its code
            assert cls.code not in codes, f"{cls.__name__} reuses {codes.get(cls.code)}"
            codes[cls.code] = cls
        assert cls.code.replace("_", "").isalnum(), cls
        assert cls.code == cls.code.lower(), cls
        assert cls.message_fr.strip(), cls
        assert cls.message_en.strip(), cls
        assert cls().message("fr") == cls.message_fr
        assert cls().message("en") == cls.message_en

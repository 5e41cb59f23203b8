"""ParallelBench's world: its task names, answer text, grading, harness logs and runs.

ParallelBench (furiosa-ai/ParallelBench) grades real dLLMs' answer text and
publishes its lm-evaluation-harness runs. This package reads those as they are
and measures them with trilemma's exact layer beside them.
"""

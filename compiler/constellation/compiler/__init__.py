"""The shared compiler core: source -> AST -> types -> DAG -> layers -> diagnostics."""

from constellation.compiler.analysis import Analysis, analyze
from constellation.compiler.diagnostics import Diagnostic
from constellation.compiler.registry import Function, Registry

__all__ = ["Analysis", "analyze", "Diagnostic", "Function", "Registry"]

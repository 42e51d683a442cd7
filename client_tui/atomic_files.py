"""Moved to `marquee.atomic_files`, the one implementation the servers and the client share;
this name stays only until every importer uses the new one."""

from marquee.atomic_files import atomic_write_bytes, atomic_write_text

__all__ = ["atomic_write_bytes", "atomic_write_text"]

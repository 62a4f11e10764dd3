"""simple_history's `HistoricalRecords`, with its history manager's class built once.

`simple_history.manager.HistoryDescriptor.__get__` builds a new manager class at every
access (`HistoryManager.from_queryset(HistoricalQuerySet)`, which walks the queryset's
methods with `inspect.getmembers`), and `create_historical_record` reaches the manager that
way for every history row it writes: about half a millisecond of CPU per row, paid twice by
each SMS activation (the account, its records; issue 14). The class depends only on the
two classes the descriptor holds, so it is built once, when the descriptor is installed;
each access still gets its own manager instance, as before.

Use `core.history.HistoricalRecords` where `simple_history.models.HistoricalRecords` would
be used: same arguments, same historical models and migrations.
"""

from __future__ import annotations

from simple_history.manager import HistoryDescriptor
from simple_history.models import HistoricalRecords as SimpleHistoricalRecords


class _HistoryDescriptor(HistoryDescriptor):
    """HistoryDescriptor whose manager class is made once (see the module docstring)."""

    def __init__(self, model, manager, queryset):
        super().__init__(model, manager=manager, queryset=queryset)
        self._manager_class = manager.from_queryset(queryset)

    def __get__(self, instance, owner):
        return self._manager_class(self.model, instance)


class HistoricalRecords(SimpleHistoricalRecords):
    def finalize(self, sender, **kwargs):
        before = sender.__dict__.get(self.manager_name)
        super().finalize(sender, **kwargs)
        descriptor = sender.__dict__.get(self.manager_name)
        # Only the descriptor this call installed (finalize hears every class_prepared).
        if descriptor is not before and type(descriptor) is HistoryDescriptor:
            setattr(sender, self.manager_name, _HistoryDescriptor(
                descriptor.model, descriptor.manager_class, descriptor.queryset_class))

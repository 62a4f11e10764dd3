"""core.history.HistoricalRecords: simple_history's, its manager class built once."""

import pytest

from accounts.models import Account
from pupils.models import GuardianRecord, Pupil, Responsibility
from tests.factories import GuardianRecordFactory


@pytest.mark.parametrize("model", [Account, GuardianRecord, Pupil, Responsibility])
def test_the_history_manager_class_is_made_once_per_model(model):
    assert type(model.history) is type(model.history)
    assert model.history.model is model.history.model


@pytest.mark.django_db
def test_history_rows_are_written_and_read_as_before():
    record = GuardianRecordFactory(first_name="Léa")
    record.first_name = "Léna"
    record._change_reason = "Orthographe corrigée"
    record.save()
    rows = list(record.history.order_by("history_date"))
    assert [(r.history_type, r.first_name) for r in rows] == [("+", "Léa"), ("~", "Léna")]
    assert rows[-1].history_change_reason == "Orthographe corrigée"
    assert record.history.model is GuardianRecord.history.model

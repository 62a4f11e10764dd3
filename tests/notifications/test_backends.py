"""SMS backends: chosen by settings.SMS_BACKEND; Twilio driven through a fake HTTP client."""

import io
import json
import os
import threading

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response

from notifications import sms


def test_get_sms_backend_follows_the_setting(settings):
    settings.SMS_BACKEND = "notifications.sms.FileSMSBackend"
    assert isinstance(sms.get_sms_backend(), sms.FileSMSBackend)
    settings.SMS_BACKEND = "notifications.sms.ConsoleSMSBackend"
    assert isinstance(sms.get_sms_backend(), sms.ConsoleSMSBackend)


def test_console_backend_prints_the_sms():
    stream = io.StringIO()
    result = sms.ConsoleSMSBackend(stream=stream).send(to="+33612345678", body="Code : ABC234")
    assert "To: +33612345678\n\nCode : ABC234\n" in stream.getvalue()
    assert result.provider_message_id.startswith("console:")


def test_locmem_backend_keeps_messages_in_outbox():
    sms.LocmemSMSBackend().send(to="+33612345678", body="un")
    sms.LocmemSMSBackend().send(to="+262692123456", body="deux")
    assert sms.outbox == [sms.SentSMS("+33612345678", "un"), sms.SentSMS("+262692123456", "deux")]


class TestFileBackend:
    def test_one_file_per_message_named_in_time_order(self, tmp_path):
        backend = sms.FileSMSBackend(file_path=tmp_path / "sms")
        results = [backend.send(to="+33612345678", body=f"Code n°{n}\nsur deux lignes")
                   for n in range(5)]
        files = sorted(p.name for p in (tmp_path / "sms").iterdir())
        assert len(files) == 5
        # The file order is the sending order; the provider id names the file.
        assert [f"file:{name}" for name in files] == [r.provider_message_id for r in results]
        first = (tmp_path / "sms" / files[0]).read_text(encoding="utf-8")
        assert first == "To: +33612345678\n\nCode n°0\nsur deux lignes"
        assert [m.body for m in sms.FileSMSBackend.read_messages(tmp_path / "sms")] == [
            f"Code n°{n}\nsur deux lignes" for n in range(5)]

    def test_no_temporary_file_is_left_and_readers_ignore_them(self, tmp_path):
        backend = sms.FileSMSBackend(file_path=tmp_path)
        (tmp_path / ".half-written.tmp").write_text("To: +3360000")
        backend.send(to="+33612345678", body="x")
        assert len(sms.FileSMSBackend.read_messages(tmp_path)) == 1
        assert len([p for p in tmp_path.iterdir() if not p.name.startswith(".")]) == 1

    def test_concurrent_senders_never_overwrite_each_other(self, tmp_path):
        backend = sms.FileSMSBackend(file_path=tmp_path)
        threads = [threading.Thread(target=lambda n=n: [backend.send(to="+33612345678",
                                                                     body=f"{n}-{i}")
                                                        for i in range(20)])
                   for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        bodies = {m.body for m in sms.FileSMSBackend.read_messages(tmp_path)}
        assert len(bodies) == 80

    def test_read_file_refuses_names_outside_the_folder(self, tmp_path):
        (tmp_path / "inside").mkdir()
        (tmp_path / "secret.sms.txt").write_text("To: x\n\nsecret")
        outside = sms.FileSMSBackend.read_file("../secret.sms.txt", file_path=tmp_path / "inside")
        assert outside is None

    def test_unwritable_folder_is_a_transient_error(self, tmp_path):
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("")
        with pytest.raises(sms.SMSTransientError):
            sms.FileSMSBackend(file_path=blocker / "sms").send(to="+33612345678", body="x")


class FakeTwilioHttp(HttpClient):
    """Answers twilio's HTTP calls from a list; records what was asked. No network."""

    def __init__(self, responses):
        super().__init__(logger=None, is_async=False)
        self.responses = list(responses)
        self.requests = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        self.requests.append({"method": method, "uri": uri, "data": data, "auth": auth})
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, payload = answer
        return Response(status, json.dumps(payload))


@pytest.fixture
def twilio_settings(settings):
    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_AUTH_TOKEN = "test-auth-token"
    settings.TWILIO_FROM = "+33700000000"
    settings.SITE_URL = "https://educonnect.example"
    return settings


def _message_payload(sid="SM" + "a" * 32, status="queued"):
    return {"sid": sid, "status": status, "account_sid": "AC" + "1" * 32, "body": "…",
            "to": "+33612345678", "from": "+33700000000"}


def _error_payload(status, code):
    return {"status": status, "code": code, "message": "The 'To' number is not valid.",
            "more_info": f"https://www.twilio.com/docs/errors/{code}"}


class TestTwilioBackend:
    def test_sends_with_the_status_callback_and_returns_the_sid(self, twilio_settings):
        http = FakeTwilioHttp([(201, _message_payload())])
        result = sms.TwilioSMSBackend(http_client=http).send(to="+262692123456",
                                                               body="Code : ABC234")
        assert result == sms.SMSResult(provider_message_id="SM" + "a" * 32,
                                       provider_status="queued")
        [call] = http.requests
        assert call["method"] == "POST"
        assert call["uri"].endswith(f"/Accounts/{'AC' + '1' * 32}/Messages.json")
        assert call["auth"] == ("AC" + "1" * 32, "test-auth-token")
        assert call["data"]["To"] == "+262692123456"
        assert call["data"]["From"] == "+33700000000"
        assert call["data"]["Body"] == "Code : ABC234"
        assert call["data"]["StatusCallback"] == (
            "https://educonnect.example/notifications/twilio/statut/")

    @pytest.mark.parametrize(("status", "code"), [(429, 20429), (500, 20500), (503, 20503)])
    def test_rate_limit_and_outages_are_transient(self, twilio_settings, status, code):
        http = FakeTwilioHttp([(status, _error_payload(status, code))])
        with pytest.raises(sms.SMSTransientError) as exc:
            sms.TwilioSMSBackend(http_client=http).send(to="+33612345678", body="Code : ABC234")
        assert str(exc.value) == f"Twilio HTTP {status}, code {code}"

    @pytest.mark.parametrize(("status", "code"), [(400, 21211), (400, 21610), (400, 21614)])
    def test_refused_numbers_are_permanent(self, twilio_settings, status, code):
        http = FakeTwilioHttp([(status, _error_payload(status, code))])
        with pytest.raises(sms.SMSPermanentError) as exc:
            sms.TwilioSMSBackend(http_client=http).send(to="+33612345678", body="Code : ABC234")
        assert "ABC234" not in str(exc.value)

    def test_network_failure_is_transient(self, twilio_settings):
        import requests

        http = FakeTwilioHttp([requests.ConnectionError("connection refused")])
        with pytest.raises(sms.SMSTransientError, match="unreachable"):
            sms.TwilioSMSBackend(http_client=http).send(to="+33612345678", body="x")

    def test_missing_configuration_is_permanent_and_calls_nobody(self, twilio_settings):
        twilio_settings.TWILIO_FROM = ""
        http = FakeTwilioHttp([])
        with pytest.raises(sms.SMSPermanentError, match="TWILIO_FROM"):
            sms.TwilioSMSBackend(http_client=http).send(to="+33612345678", body="x")
        assert http.requests == []

    def test_the_default_http_client_has_a_timeout(self, twilio_settings):
        twilio_settings.TWILIO_TIMEOUT_SECONDS = 7
        client = sms.TwilioSMSBackend()._client()
        assert client.http_client.timeout == 7


def test_file_backend_default_folder_is_the_setting(settings, tmp_path):
    settings.SMS_FILE_PATH = tmp_path / "sms-files"
    sms.FileSMSBackend().send(to="+33612345678", body="x")
    assert os.listdir(tmp_path / "sms-files")


def test_demo_backend_prints_the_sms_and_keeps_it_for_the_demo_page(tmp_path, capsys):
    from notifications.sms import DemoSMSBackend, FileSMSBackend

    result = DemoSMSBackend(file_path=tmp_path).send(to="+33612345678", body="Code ABCDEF")

    assert "Code ABCDEF" in capsys.readouterr().out
    assert [m.body for m in FileSMSBackend.read_messages(file_path=tmp_path)] == ["Code ABCDEF"]
    assert result.provider_message_id.startswith("file:")

"""Security codes: easy to read, hard to guess, never stored in clear."""

import math
import uuid

from core import codes


def test_alphabet_has_no_look_alikes_and_gives_over_twenty_bits():
    assert len(set(codes.ALPHABET)) == len(codes.ALPHABET) == 31
    assert not set("0O1IL") & set(codes.ALPHABET)
    assert codes.LENGTH * math.log2(len(codes.ALPHABET)) >= 20


def test_generated_codes_use_the_alphabet_and_vary():
    generated = [codes.code_generate() for _ in range(2000)]
    assert all(len(c) == 6 and set(c) <= set(codes.ALPHABET) for c in generated)
    assert len(set(generated)) > 1990
    # Every character of the alphabet shows up: no bias towards a subset.
    assert set("".join(generated)) == set(codes.ALPHABET)


def test_what_people_type_is_read_case_insensitively_with_spaces():
    assert codes.code_normalize(" k7p mx4 ") == "K7PMX4"
    assert codes.code_normalize("K7P-MX4") == "K7PMX4"
    assert codes.code_normalize("K7PMX") is None
    assert codes.code_normalize("K7PMX44") is None
    assert codes.code_normalize("K7PMX0") is None  # 0 is not in the alphabet


def test_the_hash_is_bound_to_the_purpose_and_the_flow_and_reveals_nothing():
    flow_a, flow_b = uuid.uuid4(), uuid.uuid4()
    stored = codes.code_hash(purpose="activation_code", flow_id=flow_a, code="K7PMX4")
    assert "K7PMX4" not in stored and len(stored) == 64
    assert codes.code_matches(purpose="activation_code", flow_id=flow_a, code="K7PMX4",
                              stored_hash=stored)
    assert not codes.code_matches(purpose="activation_code", flow_id=flow_a, code="K7PMX5",
                                  stored_hash=stored)
    assert not codes.code_matches(purpose="activation_code", flow_id=flow_b, code="K7PMX4",
                                  stored_hash=stored)
    assert not codes.code_matches(purpose="password_reset", flow_id=flow_a, code="K7PMX4",
                                  stored_hash=stored)
    assert not codes.code_matches(purpose="activation_code", flow_id=flow_a, code="K7PMX4",
                                  stored_hash="")

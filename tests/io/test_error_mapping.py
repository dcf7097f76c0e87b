"""Storage failures are mapped by obstore's exception class first, its message text only as a fallback."""

from __future__ import annotations

from obstore.exceptions import GenericError, NotFoundError, PermissionDeniedError

from flytelite.io._obstore import _Client, _storage_error

CLIENT = _Client(store=None, endpoint="http://store.test", has_static_keys=True, secrets=())
URI = "s3://bucket/key.pb"


def test_not_found_by_class_whatever_its_text():
    error = _storage_error(NotFoundError("Object at location key.pb not found"), URI, CLIENT)
    assert str(error).startswith(f"not found: {URI}") and error.transient is False
    error = _storage_error(FileNotFoundError("gone"), URI, CLIENT)
    assert str(error).startswith(f"not found: {URI}")


def test_the_text_refines_what_the_class_says():
    error = _storage_error(NotFoundError("<Code>NoSuchBucket</Code>"), URI, CLIENT)
    assert str(error).startswith("bucket 'bucket' does not exist at http://store.test")
    assert str(_storage_error(PermissionDeniedError("<Code>SignatureDoesNotMatch</Code>"), URI, CLIENT)).startswith("the credentials were rejected")
    assert str(_storage_error(PermissionDeniedError("forbidden"), URI, CLIENT)).startswith(f"access denied to {URI}")


def test_a_generic_error_falls_back_to_its_text():
    assert _storage_error(GenericError("status code: 503, Service Unavailable"), URI, CLIENT).transient is True
    assert _storage_error(GenericError("status code: 400, Bad Request"), URI, CLIENT).transient is False
    assert str(_storage_error(GenericError("<Code>NoSuchBucket</Code>"), URI, CLIENT)).startswith("bucket 'bucket' does not exist")

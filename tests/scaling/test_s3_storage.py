"""Stored files on S3-compatible storage: an attachment received by a channel is written to
the bucket (never to local disk), and an agent downloads it through the help desk's own
permission check. The bucket is a local S3-compatible server (moto's), speaking the real S3
wire protocol over loopback."""

from __future__ import annotations

import boto3
import pytest
from django.urls import reverse

from tests.factories import make_agent
from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import Attachment
from tickets.services.ingest import message_ingest

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n" + b"invoice line\n" * 200
KEY_ID, SECRET = "test-key-id", "test-secret"  # the local server accepts any credentials


@pytest.fixture
def s3_bucket(settings, tmp_path):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, region_name="us-east-1"
    )
    client.create_bucket(Bucket="helpdesk-files")
    settings.MEDIA_ROOT = tmp_path / "must-stay-empty"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "helpdesk-files",
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": KEY_ID,
                "secret_key": SECRET,
                "location": "attachments-test",
                "default_acl": None,
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
    }
    yield client
    server.stop()


def test_an_attachment_is_stored_in_the_bucket_and_downloaded_through_the_permission_check(client, s3_bucket):
    result = message_ingest(
        inbound=InboundMessage(
            channel="email",
            sender=InboundSender("email", "ana@example.com"),
            subject="Invoice attached",
            body_text="Please check the invoice.",
            external_id="<s3-attachment@example.com>",
            attachments=(InboundAttachment("invoice.pdf", "application/pdf", PDF),),
        )
    )
    attachment = Attachment.objects.get(filename="invoice.pdf")
    assert attachment.stored and attachment.size == len(PDF)

    listed = s3_bucket.list_objects_v2(Bucket="helpdesk-files")["Contents"]
    assert [obj["Key"] for obj in listed] == [f"attachments-test/{attachment.file.name}"]
    body = s3_bucket.get_object(Bucket="helpdesk-files", Key=listed[0]["Key"])["Body"].read()
    assert body == PDF

    url = reverse("agent:attachment", args=[result.ticket.number, attachment.pk])
    assert client.get(url).status_code in (302, 403, 404)  # anonymous: no file
    client.force_login(make_agent("sofia"))
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment;")


def test_the_same_file_received_twice_is_one_object_in_the_bucket(s3_bucket):
    for n in (1, 2):
        message_ingest(
            inbound=InboundMessage(
                channel="email",
                sender=InboundSender("email", f"customer{n}@example.com"),
                subject=f"Same file {n}",
                body_text="attached",
                external_id=f"<s3-dup-{n}@example.com>",
                attachments=(InboundAttachment("same.pdf", "application/pdf", PDF),),
            )
        )
    assert Attachment.objects.filter(filename="same.pdf").count() == 2
    assert s3_bucket.list_objects_v2(Bucket="helpdesk-files")["KeyCount"] == 1

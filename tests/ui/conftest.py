"""A rich report (every section filled, Arabic and hostile text) entered through the provider API."""
from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from lxml import etree

PASSWORD = "staff-password-1"
REPORTER_PASSWORD = "provider-pass-1"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ARABIC_CHAT = "مرحبا، كم عمرك؟\n  أنا في الصف السابع\nsend pics now"

RICH_REPORT = f"""<?xml version="1.0" encoding="UTF-8"?>
<report xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://report.cybertip.org/ispws/xsd">
  <incidentSummary>
    <incidentType>Online Enticement of Children for Sexual Acts</incidentType>
    <platform>ExampleChat Messenger</platform>
    <escalateToHighPriority>Ongoing contact; meeting planned for Friday</escalateToHighPriority>
    <reportAnnotations><sextortion/><minorToMinorInteraction/></reportAnnotations>
    <incidentDateTime>2024-03-01T10:15:30+03:00</incidentDateTime>
    <incidentDateTimeDescription>Time of the first message</incidentDateTimeDescription>
  </incidentSummary>
  <internetDetails>
    <webPageIncident thirdPartyHostedContent="false">
      <url>https://example.com/page/evil-page</url>
      <additionalInfo>web page note</additionalInfo>
    </webPageIncident>
  </internetDetails>
  <internetDetails>
    <chatImIncident>
      <chatClient>ExampleChat</chatClient>
      <chatRoomName>room-seven</chatRoomName>
      <content>{ARABIC_CHAT}</content>
      <additionalInfo>chat note</additionalInfo>
    </chatImIncident>
  </internetDetails>
  <internetDetails>
    <peer2peerIncident>
      <client>ExampleP2P</client>
      <ipCaptureEvent><ipAddress>192.0.2.44</ipAddress><eventName>Upload</eventName><port>6881</port></ipCaptureEvent>
      <fileNames>a.jpg, b.jpg</fileNames>
    </peer2peerIncident>
  </internetDetails>
  <lawEnforcement>
    <agencyName>Example Police Agency</agencyName>
    <caseNumber>LE-2024-001</caseNumber>
    <officerContact>
      <firstName>Ann</firstName>
      <lastName>Officerson</lastName>
      <email>ann@police.example.com</email>
    </officerContact>
    <reportedToLe>true</reportedToLe>
    <servedLegalProcessInternational fleaCountry="GB">true</servedLegalProcessInternational>
  </lawEnforcement>
  <reporter>
    <reportingPerson>
      <firstName>John</firstName>
      <lastName>Reporterman</lastName>
      <email verified="true" verificationDate="2024-01-01T00:00:00Z">jsmith@example.com</email>
    </reportingPerson>
    <contactPerson>
      <firstName>Safety</firstName>
      <lastName>Desk</lastName>
      <email>safety@example.com</email>
    </contactPerson>
    <companyTemplate>Serve legal process at legal@example.com</companyTemplate>
    <termsOfService>No abuse of children.</termsOfService>
    <legalURL>https://example.com/legal</legalURL>
  </reporter>
  <personOrUserReported>
    <personOrUserReportedPerson>
      <firstName>عمر</firstName>
      <lastName>Suspectson</lastName>
      <phone type="Mobile" countryCallingCode="+970">599000111</phone>
      <email type="Work">suspect@example.com</email>
      <age>35</age>
    </personOrUserReportedPerson>
    <espIdentifier>u-12345</espIdentifier>
    <espService>Example Messenger</espService>
    <screenName>bad_user_77</screenName>
    <displayName>Bad User</displayName>
    <profileUrl>https://example.com/u/bad_user_77</profileUrl>
    <profileBio>bio of the suspect</profileBio>
    <ipCaptureEvent>
      <ipAddress>198.51.100.7</ipAddress>
      <eventName>Login</eventName>
      <dateTime>2024-02-01T01:02:03-05:00</dateTime>
      <possibleProxy>true</possibleProxy>
      <port>443</port>
    </ipCaptureEvent>
    <deviceId><idType>IMEI</idType><idValue>490154203237518</idValue><eventName>Registration</eventName></deviceId>
    <priorCTReports>PRIOR_REPORT_ID</priorCTReports>
    <accountTemporarilyDisabled disabledDate="2024-02-02T00:00:00Z" userNotified="true">true</accountTemporarilyDisabled>
    <estimatedLocation verified="false"><city>Nablus</city><countryCode>PS</countryCode></estimatedLocation>
    <associatedAccount type="Linked">
      <platform thirdPartyUser="true">Other Site</platform>
      <email>alt@example.net</email>
      <screenName>alt_account_9</screenName>
    </associatedAccount>
    <additionalInfo>suspect note</additionalInfo>
  </personOrUserReported>
  <intendedRecipient>
    <intendedRecipientPerson><firstName>Rana</firstName><email>recipient@example.com</email></intendedRecipientPerson>
    <screenName>recipient_rana</screenName>
  </intendedRecipient>
  <victim>
    <victimPerson><firstName>ليلى</firstName><age>13</age></victimPerson>
    <screenName>victim_layla</screenName>
    <schoolName>Example School</schoolName>
  </victim>
  <additionalInfo>{HOSTILE.replace("&", "&amp;").replace("<", "&lt;")}</additionalInfo>
</report>
""".encode()


def file_details(report_id: int, file_id: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<fileDetails>
  <reportId>{report_id}</reportId>
  <fileId>{file_id}</fileId>
  <originalFileName>holiday-photo.jpg</originalFileName>
  <uploadedToEspTimestamp>2024-01-01T00:00:00Z</uploadedToEspTimestamp>
  <locationOfFile>https://cdn.example.com/f/1.jpg</locationOfFile>
  <fileViewedByEsp>true</fileViewedByEsp>
  <exifViewedByEsp>false</exifViewedByEsp>
  <publiclyAvailable>false</publiclyAvailable>
  <fileRelevance>Reported</fileRelevance>
  <fileAnnotations><generativeAi/><infant/></fileAnnotations>
  <industryClassification>A1</industryClassification>
  <originalFileHash hashType="MD5">0123456789abcdef0123456789abcdef</originalFileHash>
  <ipCaptureEvent><ipAddress>203.0.113.5</ipAddress><eventName>Upload</eventName></ipCaptureEvent>
  <deviceId><idType>ICCID</idType><idValue>8997000000000000001</idValue></deviceId>
  <details type="EXIF">
    <nameValuePair><name>CameraMake</name><value>ExampleCam</value></nameValuePair>
  </details>
  <additionalInfo>file note</additionalInfo>
</fileDetails>
""".encode()


@dataclass
class Api:
    client: Client
    auth: str

    def post(self, endpoint: str, data, **kwargs) -> etree._Element:  # type: ignore[no-untyped-def]
        response = self.client.post(f"/ispws/{endpoint}", data, HTTP_AUTHORIZATION=self.auth, **kwargs)
        root = etree.fromstring(response.content)
        assert root.findtext("responseCode") == "0", response.content
        return root


def plain_report(*, screen_name: str | None = None) -> bytes:
    """A minimal valid report, optionally naming a reported screen name."""
    reported = f"\n  <personOrUserReported><screenName>{screen_name}</screenName></personOrUserReported>" if screen_name else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<report>
  <incidentSummary>
    <incidentType>Child Pornography (possession, manufacture, and distribution)</incidentType>
    <incidentDateTime>2024-01-10T08:00:00Z</incidentDateTime>
  </incidentSummary>
  <reporter><reportingPerson><email>safety@example.com</email></reportingPerson></reporter>{reported}
</report>
""".encode()


PLAIN_REPORT = plain_report()


def submit_rich_report(*, reporter_name: str, unit_code: str, xml: bytes = RICH_REPORT, with_file: bool = True, finish: bool = True) -> int:
    """Open, upload, describe and finish a report through /ispws/, as a provider would.

    A report that names a prior report gets one, of the same unit (a provider cites
    only its unit's reports: another unit's is answered as a missing one), left
    unfinished so that it does not appear in the lists under test.
    """
    if b"PRIOR_REPORT_ID" in xml:
        prior_id = submit_rich_report(reporter_name=f"{reporter_name}-prior", unit_code=unit_code, xml=PLAIN_REPORT, with_file=False, finish=False)
        xml = xml.replace(b"PRIOR_REPORT_ID", str(prior_id).encode())
    from himaya.accounts.services import reporter_create

    reporter_create(username=reporter_name, password=REPORTER_PASSWORD, unit_code=unit_code)
    api = Api(Client(), "Basic " + base64.b64encode(f"{reporter_name}:{REPORTER_PASSWORD}".encode()).decode())
    report_id = int(api.post("submit", xml, content_type="text/xml; charset=utf-8").findtext("reportId"))
    if with_file:
        # Not an image: the UI never shows file contents anyway.
        upload = SimpleUploadedFile("upload.bin", b"synthetic test bytes, not media")
        file_id = api.post("upload", {"id": str(report_id), "file": upload}).findtext("fileId")
        api.post("fileinfo", file_details(report_id, file_id), content_type="text/xml; charset=utf-8")
    if finish:
        api.post("finish", {"id": str(report_id)})
    return report_id


def staff(username: str, unit_code: str):  # type: ignore[no-untyped-def]
    from himaya.accounts.services import user_create

    return user_create(username=username, password=PASSWORD, roles=["intake_analyst"], unit_code=unit_code)


@pytest.fixture
def analyst_a(db):  # type: ignore[no-untyped-def]
    return staff("analyst-a", "unit-a")


@pytest.fixture
def analyst_b(db):  # type: ignore[no-untyped-def]
    return staff("analyst-b", "unit-b")


@pytest.fixture
def rich_report_id(db) -> int:  # type: ignore[no-untyped-def]
    return submit_rich_report(reporter_name="examplechat-a", unit_code="unit-a")

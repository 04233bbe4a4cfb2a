"""Runs under a separate Python (>= 3.13) with the `ncmec-cybertip` package from PyPI:
an independent client written for NCMEC's API, pointed at Himaya. Prints JSON."""
import asyncio
import json
import sys
from datetime import datetime, timezone

from ncmec_cybertip import CyberTiplineClient
from ncmec_cybertip.common import Email, IpCaptureEvent, Person
from ncmec_cybertip.enums import IncidentType
from ncmec_cybertip.files import FileDetails
from ncmec_cybertip.report import IncidentSummary, InternetDetails, PersonOrUserReported, Report, Reporter, WebPageIncident

base_url, username, password, image = sys.argv[1:5]


async def main() -> None:
    out: dict[str, object] = {}
    async with CyberTiplineClient(username=username, password=password, base_url=base_url) as client:
        status = await client.status()
        out["status"] = [status.response_code, status.response_description]
        out["xsd_has_report"] = '<xs:element name="report">' in await client.get_xsd()
        report = Report(
            incident_summary=IncidentSummary(
                incident_type=IncidentType.CHILD_PORNOGRAPHY,
                platform="ExampleChat",
                incident_date_time=datetime(2026, 1, 15, 8, 0, tzinfo=timezone.utc),
            ),
            internet_details=[InternetDetails(web_page_incident=WebPageIncident(url=["https://www.example.com/page"]))],
            reporter=Reporter(reporting_person=Person(first_name="Safety", last_name="Team", email=[Email(value="safety@example.com")])),
            person_or_user_reported=PersonOrUserReported(
                screen_name="suspect_account_1", esp_identifier="u-1001",
                ip_capture_event=[IpCaptureEvent(ip_address="192.0.2.44", date_time=datetime(2026, 1, 14, 22, 5, tzinfo=timezone.utc))],
            ),
        )
        opened = await client.submit(report)
        out["report_id"] = opened.report_id
        uploaded = await client.upload(opened.report_id, image)
        out["file_id"], out["md5"] = uploaded.file_id, uploaded.hash
        await client.file_info(FileDetails(report_id=opened.report_id, file_id=uploaded.file_id, original_file_name="photo.jpg", file_viewed_by_esp=True))
        done = await client.finish(opened.report_id)
        out["finished"] = [done.response_code, done.report_id, done.file_ids]
        second = await client.submit(report)
        retracted = await client.retract(second.report_id)
        out["retracted"] = [retracted.response_code, retracted.report_id]
        try:
            await client.finish(second.report_id)
        except Exception as exc:  # the library raises ApiError for non-zero codes
            out["finish_after_retract"] = getattr(exc, "code", None) or getattr(exc, "response_code", None) or str(exc)
    print(json.dumps(out))


asyncio.run(main())

from __future__ import annotations


class IntakeError(Exception):
    """A documented CyberTipline response code (Appendix D) with its description."""

    def __init__(self, code: int, detail: str = "", *, report_id: int | None = None) -> None:
        super().__init__(detail or str(code))
        self.code = code
        self.detail = detail
        self.report_id = report_id

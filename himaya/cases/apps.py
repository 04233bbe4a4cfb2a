from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "himaya.cases"
    label = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from himaya.cases.selectors import report_case_info
        from himaya.core.report_extras import register

        # The queue and the reports list show each report's case, assignees and due time.
        register("case", report_case_info)

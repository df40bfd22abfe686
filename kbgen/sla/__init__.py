"""Service levels: the promises the support team makes per priority, and the clocks that keep them.

  calendar.py     business calendars (time zone, working days and hours, holidays) and business-time sums
  definitions.py  sla.yml (beside forms/): calendars and the targets per priority, read with file:line errors
  clock.py        a ticket's clocks: first response and resolution due times, pauses, restarts, breaches

Defined once in the project's sla.yml; the ticket service calls the clock at every change, the queues
sort and filter by the due time it stores, agents see due times and breaches, customers the promise.
"""
from __future__ import annotations

from kbgen.sla.calendar import BusinessCalendar
from kbgen.sla.definitions import (DEFAULT_FILE, ServiceLevels, SlaDefinitionError, Target, describe_duration,
                                   for_forms, load_service_levels, parse_duration, sla_file)

__all__ = ["DEFAULT_FILE", "BusinessCalendar", "ServiceLevels", "SlaDefinitionError", "Target", "describe_duration",
           "for_forms", "load_service_levels", "parse_duration", "sla_file"]

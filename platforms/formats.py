"""Platform time formats, converted to epoch ms here and nowhere else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

#: Huawei's UTC time format, e.g. 20151212T121212Z.
HUAWEI_TIME = "%Y%m%dT%H%M%SZ"

#: OneNET request and response times are Beijing local time without a zone.
BEIJING = timezone(timedelta(hours=8))


def huawei_to_ms(text: str) -> int:
    """`20151212T121212Z` -> epoch ms. Raises ValueError on anything else."""
    dt = datetime.strptime(text, HUAWEI_TIME).replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def ms_to_huawei(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime(HUAWEI_TIME)


def iotda_to_ms(text: str) -> int:
    """IoTDA v5 times (`yyyyMMdd'T'HHmmss'Z'`, UTC) -> epoch ms: the format of Huawei's v1 API."""
    return huawei_to_ms(text)


def ms_to_iotda(ms: int) -> str:
    return ms_to_huawei(ms)


def onenet_to_ms(text: str) -> int:
    """OneNET `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS` (Beijing time) -> epoch ms."""
    dt = datetime.strptime(text.replace("T", " "), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    return int(dt.timestamp() * 1000)


def ms_to_onenet(ms: int, *, sep: str = "T") -> str:
    """Epoch ms -> OneNET Beijing-local text (`T` separator in requests, space in responses)."""
    return datetime.fromtimestamp(ms / 1000, tz=BEIJING).strftime(f"%Y-%m-%d{sep}%H:%M:%S")

"""The demo event: the region's digital week, replayed from today.

Modelled on the digital week that Region Västerbotten, Sparbanksstiftelsen Norrland and
Skellefteå Kraft organised with Umeå University on 19-22 January 2021 (in place of Västerbotten
på Grand Hôtel that year): four days of sessions broadcast live from campus in Umeå, arranged by
Skogstekniska klustret, Kunskapsnoden, Skellefteå kommun, Region Västerbotten and others. Its
last day adds a hybrid event with a venue: the kick-off for the regional development strategy
(RUS) at Hotell Lappland in Lycksele, with its forenoon talks streamed and its eight working
groups meeting in parallel rooms (invite-only). Speakers are named by role, never by person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from stream.common import times
from stream.program.arrangers import Arranger, ArrangerStore
from stream.program.events import Event, EventStore
from stream.program.sessions import Session, SessionStore
from stream.program.studios import Studio, StudioStore
from stream.store import Redis

WEEK_EVENT = "digital-vecka"
KICKOFF_EVENT = "rus-kick-off-lycksele"
WEEK_DAYS = 4
ORIGINAL_FIRST_DAY = date(2021, 1, 19)

ARRANGERS = (
    Arranger(
        "region-vasterbotten",
        "Region Västerbotten",
        "Leder det regionala utvecklingsarbetet och driver fyra mötesplatser: Västerbotten på "
        "Grand Hôtel, Mötesplats Lycksele, Västerbotten i Almedalen och Digitala Västerbotten.",
    ),
    Arranger(
        "skogstekniska-klustret",
        "Skogstekniska klustret",
        "Samverkan för skogssektorns utveckling och digitalisering.",
    ),
    Arranger("kunskapsnoden", "Kunskapsnoden", "Forskning och kunskapsspridning."),
    Arranger("skelleftea-kommun", "Skellefteå kommun"),
    Arranger("umea-universitet", "Umeå universitet", "Värd för sändningarna från campus i Umeå."),
)

STUDIOS = (
    Studio("campus-studio-1", "Studio 1", "Campus Umeå"),
    Studio("campus-studio-2", "Studio 2", "Campus Umeå"),
    Studio("campus-ovningsstudio", "Övningsstudion", "Campus Umeå"),
    Studio("lappland-stora-salen", "Stora salen", "Hotell Lappland, Lycksele"),
    *(
        Studio(f"lappland-grupprum-{n}", f"Grupprum {n}", "Hotell Lappland, Lycksele")
        for n in range(1, 9)
    ),
)

WORKING_GROUPS = (
    "Innovationskraft",
    "Näringslivsutveckling",
    "Digital utveckling",
    "Sysselsättning och kompetensförsörjning",
    "Trafik och infrastruktur",
    "Kultur och livsmiljöer",
    "Internationellt och regionalt samarbete",
    "Energi, miljö och klimat",
)


@dataclass(frozen=True, slots=True)
class Slot:
    id: str
    day: int  # 0 = the first day
    start: str
    end: str
    title: str
    arranger: str
    studio: str
    event: str = WEEK_EVENT
    speakers: tuple[str, ...] = ()
    description: str = ""
    visibility: str = "public"


REGION = "region-vasterbotten"
STUDIO_1 = "campus-studio-1"
STUDIO_2 = "campus-studio-2"
HALL = "lappland-stora-salen"

SLOTS = (
    Slot(
        "invigning-digital-vecka", 0, "09:00", "09:30",
        "Invigning: Tillsammans för regionens utveckling", REGION, STUDIO_1,
        speakers=("Strateg för externa relationer, Region Västerbotten",),
        description=(
            "Veckan öppnar. Samarbete är nyckeln till utveckling: länets aktörer sänder "
            "digitala arrangemang direkt från campus i Umeå."
        ),
    ),
    Slot(
        "skogens-dag", 0, "10:00", "11:30",
        "Skogens dag: skogssektorns utveckling och digitalisering", "skogstekniska-klustret",
        STUDIO_1, speakers=("Skogstekniska klustret",),
        description="Hur digitaliseringen förändrar skogsbruket, från planering till industri.",
    ),
    Slot(
        "crispr-cas9", 0, "13:00", "14:30",
        "Forskningsperspektiv på gensaxen CRISPR-Cas9", "kunskapsnoden", STUDIO_2,
        speakers=("Forskare, Umeå universitet",),
        description="Vad gensaxen betyder för forskningen och för samhället.",
    ),
    Slot(
        "hur-hojer-vi-tempot", 0, "15:00", "16:00",
        "Omställningen i norra Sverige: hur höjer vi tempot?", "skelleftea-kommun", STUDIO_1,
        description=(
            "Den gröna omställningen är i full gång i norra Sverige. Hur skapar vi bättre "
            "samverkan och involverar fler aktörer, snabbare?"
        ),
    ),
    Slot(
        "energidagen", 1, "09:30", "11:00",
        "Energidagen: ett hållbart och robust energisystem", REGION, STUDIO_1,
        description="Ett stort antal energiaktörer om hur energisystemet klarar omställningen.",
    ),
    Slot(
        "norrbottniabanan", 1, "13:00", "14:30",
        "Norrbottniabanan: infrastrukturens betydelse för regional tillväxt",
        "skelleftea-kommun", STUDIO_2,
    ),
    Slot(
        "digitala-vasterbotten", 1, "15:00", "16:00",
        "Mötesplats Digitala Västerbotten: digitaliseringens möjligheter för en hållbar välfärd",
        REGION, STUDIO_1,
        description=(
            "Medarbetare i offentlig sektor, företag, akademi och civilsamhälle om att vara "
            "delaktiga i den omvandling som digitaliseringen medför."
        ),
    ),
    Slot(
        "engagemangstrappan", 2, "10:00", "11:00",
        "Engagemangstrappan: från åhörare till aktiv partner", REGION, STUDIO_1,
        description=(
            "Medvetenhet, intresse, deltagande, samverkan, påverkan och handling: hur "
            "mötesplatserna får fler att engagera sig på djupet."
        ),
    ),
    Slot(
        "grand-hotel", 2, "13:00", "14:00",
        "Västerbotten på Grand Hôtel: regionens framtidsfrågor i Stockholm", REGION, STUDIO_2,
        description=(
            "Erfarenhetsutbyten, nya kontakter, samverkan och påverkan på nationell och "
            "internationell nivå."
        ),
    ),
    # The hybrid day: the RUS kick-off at Hotell Lappland, Lycksele.
    Slot(
        "rus-inledning", 3, "10:00", "10:10", "Inledning", REGION, HALL, KICKOFF_EVENT,
        speakers=("Regiondirektör, Region Västerbotten",),
    ),
    Slot(
        "rus-sammanhang", 3, "10:10", "10:20",
        "Den regionala utvecklingsstrategin i ett nationellt och europeiskt sammanhang",
        REGION, HALL, KICKOFF_EVENT,
    ),
    Slot(
        "rus-forvantningar", 3, "10:20", "10:30", "Förväntningar på arbetsgrupperna",
        REGION, HALL, KICKOFF_EVENT,
    ),
    Slot(
        "rus-nulage", 3, "10:30", "10:50", "Regionens nuläge", REGION, HALL, KICKOFF_EVENT
    ),
    Slot(
        "rus-europa-2020", 3, "10:50", "11:50",
        "Viktigt i gruppernas arbete: Europa 2020 och länets utvecklingsstrategi",
        REGION, HALL, KICKOFF_EVENT,
        description=(
            "Flernivåstyrning, smart tillväxt, hållbar tillväxt och inkluderande tillväxt "
            "(tillväxt för alla)."
        ),
    ),
    Slot(
        "rus-mata-resultat", 3, "11:50", "12:00", "Behovet av att mäta resultat",
        REGION, HALL, KICKOFF_EVENT,
    ),
    *(
        Slot(
            f"rus-grupp-{n}", 3, "13:00", "15:00", f"Arbetsgrupp: {group}", REGION,
            f"lappland-grupprum-{n}", KICKOFF_EVENT, visibility="invite",
            description="Arbete i gruppen, med deltagare från hela länet.",
        )
        for n, group in enumerate(WORKING_GROUPS, start=1)
    ),
    Slot(
        "rus-summering", 3, "15:00", "15:30", "Summering av dagen", REGION, HALL, KICKOFF_EVENT
    ),
)  # fmt: skip


def events(first_day: date) -> tuple[Event, ...]:
    last_day = first_day + timedelta(days=WEEK_DAYS - 1)
    return (
        Event(
            WEEK_EVENT,
            "Digital vecka: tillsammans för regionens utveckling",
            first_day,
            last_day,
            venue="",
            description=(
                "En vecka av digitala arrangemang som livesänds från campus i Umeå, med länets "
                "aktörer som arrangörer. Förlaga: den digitala veckan "
                f"{ORIGINAL_FIRST_DAY.isoformat()} till 2021-01-22."
            ),
            languages=("sv", "en"),
        ),
        Event(
            KICKOFF_EVENT,
            "Kick-off för den regionala utvecklingsstrategin (RUS)",
            last_day,
            last_day,
            venue="Hotell Lappland, Lycksele",
            description=(
                "Arbetet med en ny regional utvecklingsstrategi inleds med åtta arbetsgrupper "
                "med deltagare från näringsliv, civilsamhälle, kommuner och akademi. "
                "Förmiddagens föredrag livesänds."
            ),
            languages=("sv",),
        ),
    )


def sessions(first_day: date) -> list[Session]:
    names = {a.id: a.name for a in ARRANGERS}
    return [
        Session(
            id=slot.id,
            title=slot.title,
            arranger=names[slot.arranger],
            arranger_id=slot.arranger,
            description=slot.description,
            event=slot.event,
            speakers=slot.speakers,
            studio=slot.studio,
            start=times.at_local(
                first_day + timedelta(days=slot.day), time.fromisoformat(slot.start)
            ),
            end=times.at_local(first_day + timedelta(days=slot.day), time.fromisoformat(slot.end)),
            language="sv",
            visibility=slot.visibility,
        )
        for slot in SLOTS
    ]


async def seed_catalogue(redis: Redis, first_day: date) -> None:
    """Arrangers, studios and events (idempotent: saved over what is there)."""
    for arranger in ARRANGERS:
        await ArrangerStore(redis).save(arranger)
    for studio in STUDIOS:
        await StudioStore(redis).save(studio)
    for event in events(first_day):
        await EventStore(redis).save(event)


OPEN_HOUSE = "oppet-hus"
OPEN_HOUSE_LENGTH = timedelta(hours=1)


def open_house(now: datetime) -> Session:
    """A session that starts at the next full hour whenever the demo starts, so the programme
    always has something coming up with a countdown."""
    start = times.local(now).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return Session(
        id=OPEN_HOUSE,
        title="Öppet hus: prova att sända från campusstudion",
        arranger="Umeå universitet",
        arranger_id="umea-universitet",
        description=(
            "Arrangörer provar kameror, ljud och sändningsnyckel i övningsstudion inför "
            "veckans sändningar."
        ),
        event=WEEK_EVENT,
        speakers=("Studiotekniker, Umeå universitet",),
        studio="campus-ovningsstudio",
        start=start,
        end=start + OPEN_HOUSE_LENGTH,
        language="sv",
    )


async def seed_open_house(redis: Redis, now: datetime) -> None:
    store = SessionStore(redis)
    if await store.exists(OPEN_HOUSE):
        await store.delete(OPEN_HOUSE)
    await store.save(open_house(now))


async def seed_sessions(redis: Redis, first_day: date) -> bool:
    """The week's sessions from ``first_day``. Kept as they are when already planned for that
    day (so edits made in /admin survive a restart); replaced when the demo is started on a new
    day. Returns whether anything was written."""
    store = SessionStore(redis)
    planned = sessions(first_day)
    if await store.exists(planned[0].id):
        current = await store.get(planned[0].id)
        if current.start == planned[0].start:
            return False
    for session in planned:
        if await store.exists(session.id):
            await store.delete(session.id)
    for session in planned:
        await store.save(session)
    return True

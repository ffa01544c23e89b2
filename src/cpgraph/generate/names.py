"""Name pools for a realistic England population, weighted by frequency.

White British names come from Faker's ``en_GB`` provider data (surnames carry
Faker's own frequency weights, forenames a Zipf weight by rank); small embedded
lists cover South Asian, Polish, Somali, Caribbean and Irish names. Nicknames
come from a curated list, falling back to the ``nicknames`` package.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from functools import cache
from typing import Any

from faker.providers.person.en_GB import Provider as _GB


class Weighted:
    """A weighted list sampled with one ``rng.random()`` call (bisect on cumulative weights)."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, pairs: list[tuple[str, float]]) -> None:
        self.items = [p[0] for p in pairs]
        self.cum = list(itertools.accumulate(p[1] for p in pairs))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> str:
        """Draw one item."""
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]


def _zipf(names: list[str] | tuple[str, ...], offset: int = 8) -> list[tuple[str, float]]:
    return [(n, 1.0 / (i + offset)) for i, n in enumerate(names)]


def _split(spec: str) -> list[tuple[str, float]]:
    """Parse ``"Khan:10 Ahmed:6 Ali"`` (default weight 1)."""
    out = []
    for tok in spec.split():
        name, _, w = tok.partition(":")
        out.append((name.replace("_", " "), float(w) if w else 1.0))
    return out


@dataclass(frozen=True)
class Origin:
    """One naming tradition: forenames by sex and surnames."""

    name: str
    male: Weighted
    female: Weighted
    surnames: Weighted
    polish_forms: bool = False


_CARIB_M = "Jermaine Tyrone Delroy Leroy Winston Marcus Andre Nathaniel Kareem Devon Carl Errol"
_CARIB_F = "Shanice Marcia Keisha Jade Tanisha Chantelle Simone Janelle Beverley Yolanda Precious"
_PAK_M = (
    "Mohammed:10 Muhammad:8 Ali:3 Ahmed:3 Hamza:3 Ibrahim:3 Yusuf:3 Zain:2 Adam:3 "
    "Ayaan:2 Imran:2 Tariq:2 Asif:2 Bilal:2 Usman:2 Shahid:2 Zubair Rashid Abdul:2"
)
_PAK_F = (
    "Aisha:4 Fatima:4 Maryam:3 Zainab:3 Amina:2 Hafsa:2 Sana:2 Nadia:2 Samina Shazia "
    "Noor:2 Hira Iqra Ayesha:2 Rukhsana Nasreen Safia"
)
_PAK_S = (
    "Khan:10 Ahmed:6 Hussain:6 Ali:6 Akhtar:3 Iqbal:3 Mahmood:3 Rahman:3 Shah:3 Malik:2 "
    "Butt:2 Mirza Choudhury:2 Miah:2 Islam:2 Uddin:2 Hussein Riaz Rashid Sadiq"
)
_IND_M = "Gurpreet Jaswinder Rajesh Sanjay Arjun Rohan Amar Vikram Ravi Harjit Sukhdev Arun Nikhil"
_IND_F = "Priya Simran Manpreet Anjali Pooja Kiran Sunita Jaspreet Neha Harpreet Rupinder Meena"
_IND_S = (
    "Patel:8 Singh:7 Sharma:2 Gill:2 Sandhu:2 Sidhu Bains Mistry:2 Chauhan Kumar:2 Sohal "
    "Dhillon Johal Kaur:2 Parmar Lal"
)
_POL_M = (
    "Jakub:3 Kacper:2 Szymon:2 Mateusz:2 Piotr:3 Tomasz:3 Krzysztof:2 Marcin:2 Paweł:2 "
    "Łukasz:2 Michał:2 Wojciech Aleksander Jan:2"
)
_POL_F = (
    "Zuzanna:2 Julia:2 Maja:2 Zofia:2 Katarzyna:3 Agnieszka:2 Anna:3 Magdalena:2 "
    "Małgorzata:2 Joanna:2 Ewa:2 Aleksandra:2 Zoë"
)
_POL_S = (
    "Nowak:5 Kowalski:4 Wiśniewski:3 Wójcik:3 Kowalczyk:3 Kamiński:3 Lewandowski:3 "
    "Zieliński:2 Szymański:2 Woźniak:2 Dąbrowski:2 Kozłowski:2 Mazur:2 Krawczyk:2 Łukasik"
)
_SOM_M = (
    "Mohamed:8 Abdi:5 Ahmed:4 Abdullahi:3 Hassan:3 Omar:2 Yusuf:2 Ali:3 Abdirahman:2 "
    "Mahad Liban Abdikarim"
)
_SOM_F = "Hodan:2 Ayan:2 Amina:2 Fadumo:2 Hawa:2 Sahra:2 Asha:2 Nimco Ubah Ifrah Deeqa Muna"
_SOM_S = (
    "Mohamed:5 Abdi:4 Ahmed:3 Hassan:3 Ali:3 Farah:3 Osman:2 Warsame:2 Yusuf:2 Omar:2 "
    "Hussein:2 Jama:2 Ismail Aden Nur Abdullahi Egal"
)
_IRL_M = (
    "Seán:2 Ciarán:2 Patrick:3 Liam:2 Conor:2 Declan Darragh Eoin Cian Niall Padraig "
    "Oisín Michael:2 John:2"
)
_IRL_F = (
    "Siobhán:2 Niamh:2 Aoife:2 Ciara:2 Róisín Mary:2 Bridget Orla Caoimhe Sinéad Saoirse Kathleen"
)
_IRL_S = (
    "Murphy:4 Kelly:3 O'Brien:3 O'Connor:3 Ryan:2 Byrne:2 O'Sullivan:2 Walsh:2 McCarthy:2 "
    "Doyle:2 Gallagher:2 O'Neill:2 Kennedy Quinn Brennan McDonagh Ward:2 Connors"
)


def _gb_surnames() -> list[tuple[str, float]]:
    return list(_GB.last_names.items())


@cache
def origins() -> tuple[tuple[Origin, float], ...]:
    """Return the naming traditions with their share of households."""
    gb_m = Weighted(_zipf(_GB.first_names_male))
    gb_f = Weighted(_zipf(_GB.first_names_female))
    gb_s = Weighted(_gb_surnames())
    carib_s = Weighted(
        _split(
            "Campbell:3 Williams:3 Brown:3 Clarke:2 Francis:2 Thomas:2 Grant:2 Reid:2 Morgan "
            "Samuels McKenzie:2 Bailey Henry:2 Lewis Johnson:2 Stewart Walker"
        )
    )
    return (
        (Origin("white_british", gb_m, gb_f, gb_s), 0.70),
        (
            Origin(
                "caribbean",
                Weighted(_zipf(list(_GB.first_names_male[:40]) + _CARIB_M.split(), 4)),
                Weighted(_zipf(list(_GB.first_names_female[:40]) + _CARIB_F.split(), 4)),
                carib_s,
            ),
            0.05,
        ),
        (
            Origin(
                "pakistani_bangladeshi",
                Weighted(_split(_PAK_M)),
                Weighted(_split(_PAK_F)),
                Weighted(_split(_PAK_S)),
            ),
            0.08,
        ),
        (
            Origin(
                "indian",
                Weighted(_split(_IND_M)),
                Weighted(_split(_IND_F)),
                Weighted(_split(_IND_S)),
            ),
            0.04,
        ),
        (
            Origin(
                "polish",
                Weighted(_split(_POL_M)),
                Weighted(_split(_POL_F)),
                Weighted(_split(_POL_S)),
                polish_forms=True,
            ),
            0.05,
        ),
        (
            Origin(
                "somali",
                Weighted(_split(_SOM_M)),
                Weighted(_split(_SOM_F)),
                Weighted(_split(_SOM_S)),
            ),
            0.03,
        ),
        (
            Origin(
                "irish",
                Weighted(_split(_IRL_M)),
                Weighted(_split(_IRL_F)),
                Weighted(_split(_IRL_S)),
            ),
            0.05,
        ),
    )


def pick_origin(rng: random.Random) -> Origin:
    """Draw a naming tradition by its population share."""
    r = rng.random()
    for origin, share in origins():
        r -= share
        if r < 0:
            return origin
    return origins()[0][0]


def gendered_surname(surname: str, sex: str) -> str:
    """Return the female form of Polish ``-ski``/``-cki``/``-dzki`` surnames for women."""
    if sex == "F":
        for male, female in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
            if surname.endswith(male):
                return surname[: -len(male)] + female
    return surname


def forename(origin: Origin, sex: str, rng: random.Random) -> str:
    """Draw a forename for the sex from the origin's pool."""
    return (origin.male if sex == "M" else origin.female).pick(rng)


_CURATED: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Billy", "Will", "Liam"),
    "Katherine": ("Kate", "Katie", "Kath"),
    "Catherine": ("Kate", "Cathy", "Cath"),
    "Kathryn": ("Kate", "Kath"),
    "Kathleen": ("Kath", "Kathy"),
    "Mohammed": ("Mo", "Moe"),
    "Muhammad": ("Mo",),
    "Mohamed": ("Mo",),
    "Robert": ("Rob", "Bob", "Bobby"),
    "Elizabeth": ("Liz", "Beth", "Lizzie"),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Michael": ("Mike", "Mick", "Micky"),
    "Anthony": ("Tony", "Ant"),
    "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"),
    "Thomas": ("Tom", "Tommy"),
    "Joseph": ("Joe", "Joey"),
    "Richard": ("Rich", "Richie", "Dick"),
    "Stephen": ("Steve",),
    "Steven": ("Steve", "Stevie"),
    "Jennifer": ("Jen", "Jenny"),
    "Rebecca": ("Becky", "Becca"),
    "Samantha": ("Sam", "Sammy"),
    "Alexander": ("Alex",),
    "Nicholas": ("Nick", "Nicky"),
    "Jonathan": ("Jon", "Jonny"),
    "Matthew": ("Matt",),
    "Andrew": ("Andy", "Drew"),
    "David": ("Dave", "Davey"),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Victoria": ("Vicky", "Tori"),
    "Abdullahi": ("Abdi",),
    "Abdirahman": ("Abdi",),
    "Katarzyna": ("Kasia",),
    "Małgorzata": ("Gosia",),
    "Aleksandra": ("Ola",),
    "Jakub": ("Kuba",),
    "Wojciech": ("Wojtek",),
    "Patrick": ("Paddy", "Pat"),
    "Padraig": ("Paddy",),
    "Bridget": ("Bridie",),
    "Kimberley": ("Kim",),
    "Deborah": ("Debbie", "Deb"),
    "Susan": ("Sue", "Susie"),
    "Patricia": ("Pat", "Trish"),
    "Benjamin": ("Ben",),
    "Joshua": ("Josh",),
    "Samuel": ("Sam",),
    "Nathaniel": ("Nate",),
    "Gurpreet": ("Gary",),
    "Jaswinder": ("Jas",),
    "Harjit": ("Harry",),
    "Jacqueline": ("Jackie",),
    "Christine": ("Chris", "Chrissie"),
    "Jessica": ("Jess",),
    "Nicola": ("Nicky",),
    "Alexandra": ("Alex", "Lexi"),
    "Charlotte": ("Charlie", "Lottie"),
    "Frederick": ("Fred", "Freddie"),
    "Oliver": ("Ollie",),
    "Charles": ("Charlie", "Chas"),
    "Leroy": ("Roy",),
    "Abigail": ("Abbie", "Abby"),
    "Terence": ("Terry",),
    "Kenneth": ("Ken", "Kenny"),
    "Ronald": ("Ron", "Ronnie"),
    "Zainab": ("Zee",),
}


@cache
def _nicknamer() -> Any | None:
    try:
        from nicknames import NickNamer
    except ImportError:  # pragma: no cover - the package is a project dependency
        return None
    return NickNamer()


@cache
def _package_nicknames(name: str) -> tuple[str, ...]:
    namer = _nicknamer()
    if namer is None:  # pragma: no cover
        return ()
    low = name.lower()
    found = namer.nicknames_of(low)
    # keep only plausible shortenings (sharing the first two letters), in a stable order
    keep = sorted(n for n in found if len(n) >= 2 and n[:2] == low[:2] and n != low)
    return tuple(n.capitalize() for n in keep[:3])


def nicknames_for(name: str) -> tuple[str, ...]:
    """Return the nicknames a person called ``name`` may go by (possibly none)."""
    if name in _CURATED:
        return _CURATED[name]
    return _package_nicknames(name)


STREET_SUFFIXES = Weighted(
    _split(
        "Road:10 Street:6 Avenue:4 Close:4 Lane:4 Drive:3 Grove:2 Crescent:2 Way:2 Gardens:2 "
        "Place Terrace Walk Court Rise Mews"
    )
)
STREET_STEMS = Weighted(
    _split(
        "Church:3 Park:3 Station:3 Victoria:2 Albert:2 Manor:2 Mill:2 School:2 Queens:2 Kings:2 "
        "Windsor:2 Stratford:2 Coventry:2 Bristol:2 Warwick Alcester Pershore Soho Ladypool "
        "Stoney Green:2 Highfield Oak Elm Ash Birch Holly Maple Chestnut Beech Willow Cherry "
        "Farm Meadow Brook Spring Hill:2 Bridge New:2 High:3 Broad Long Moor Heath Grange"
    )
)


# Spellings of one name that agencies transliterate differently (Arabic, Somali, Urdu,
# Punjabi romanisations) or write without diacritics.
_SPELLINGS: tuple[tuple[str, ...], ...] = (
    ("Mohammed", "Muhammad", "Mohamed", "Mohammad", "Muhammed"),
    ("Mohamed", "Mohammed", "Mohamud", "Maxamed"),
    ("Muhammad", "Mohammed", "Muhammed", "Mohammad"),
    ("Ahmed", "Ahmad", "Ahmet"),
    ("Yusuf", "Yousuf", "Yousef", "Yusef"),
    ("Usman", "Osman", "Uthman"),
    ("Hamza", "Hamzah"),
    ("Imran", "Imraan"),
    ("Abdullahi", "Abdullah", "Cabdullahi"),
    ("Abdirahman", "Abdulrahman", "Abdurahman"),
    ("Hassan", "Hasan"),
    ("Omar", "Umar"),
    ("Ibrahim", "Ebrahim", "Ibraheem"),
    ("Aisha", "Ayesha", "Aysha"),
    ("Ayesha", "Aisha", "Aysha"),
    ("Fatima", "Fatimah", "Fatuma"),
    ("Zainab", "Zaynab", "Zeinab"),
    ("Maryam", "Mariam", "Maryum"),
    ("Hafsa", "Hafsah"),
    ("Amina", "Aminah", "Ameena"),
    ("Fadumo", "Faduma", "Fatumo"),
    ("Hussain", "Hussein", "Husain"),
    ("Hussein", "Hussain", "Xuseen"),
    ("Choudhury", "Chowdhury", "Choudhry", "Chaudhry"),
    ("Rahman", "Rehman"),
    ("Mahmood", "Mehmood", "Mahmud"),
    ("Uddin", "Udin", "Ud-Din"),
    ("Miah", "Mia"),
    ("Gurpreet", "Gurprit"),
    ("Jaswinder", "Jasvinder"),
    ("Harpreet", "Harprit"),
    ("Sukhdev", "Sukhdeo"),
)
_ASCII = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻáéíóúÁÉÍÓÚëË", "acelnoszzACELNOSZZaeiouAEIOUeE")


@cache
def spellings_of(name: str) -> tuple[str, ...]:
    """Return other spellings of a name an agency may write (possibly none).

    Transliteration variants (Mohammed/Muhammad/Mohamed, Hussain/Hussein) and, for names
    with diacritics, the plain-letter form (Łukasz/Lukasz, Siobhán/Siobhan).

    Args:
        name: A forename or surname as the person uses it.

    Returns:
        Alternative spellings, without ``name`` itself, in a stable order.
    """
    out: list[str] = []
    for group in _SPELLINGS:
        if group[0] == name:
            out.extend(v for v in group[1:] if v not in out)
    plain = name.translate(_ASCII)
    if plain != name and plain not in out:
        out.append(plain)
    return tuple(out)


@cache
def one_given_name(a: str, b: str) -> bool:
    """Whether two forenames are one name: equal, spellings or nicknames of each other.

    Parents do not name twins Mohammed and Muhammad, or John and Ian (one name in two
    languages), or Linda and Lynn: any agency may write one for the other, so such a
    pair is one child's name, not two.

    Args:
        a, b: forenames as the people use them.

    Returns:
        True when either name is the other, a spelling of it or tied to it as a nickname.
    """
    if a == b or b in spellings_of(a) or a in spellings_of(b):
        return True
    if b in nicknames_for(a) or a in nicknames_for(b):
        return True
    namer = _nicknamer()
    if namer is None:  # pragma: no cover - the package is a project dependency
        return False
    la, lb = a.lower(), b.lower()
    return lb in namer.nicknames_of(la) | namer.canonicals_of(la) or la in (
        namer.nicknames_of(lb) | namer.canonicals_of(lb)
    )

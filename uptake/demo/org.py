"""The shape of a generated organisation: departments, job titles, locations, names (plain data)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Department:
    name: str
    code: str  # used in cost centres
    weight: float  # share of the headcount
    head_title: str
    # role family -> individual-contributor job titles
    families: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Location:
    name: str
    code: str
    country: str  # ISO 3166-1 alpha-2
    time_zone: str  # IANA
    language: str
    weight: float


# Ordered by headcount: with fewer than nine people only the first departments get a head.
DEPARTMENTS: tuple[Department, ...] = (
    Department(
        "Engineering",
        "ENG",
        0.28,
        "VP Engineering",
        (
            (
                "Software Engineering",
                ("Software Engineer", "Senior Software Engineer", "Staff Engineer"),
            ),
            ("Quality", ("QA Engineer", "Test Automation Engineer")),
            ("Infrastructure", ("Site Reliability Engineer", "Platform Engineer")),
            ("Data", ("Data Engineer", "Data Scientist")),
        ),
    ),
    Department(
        "Sales",
        "SAL",
        0.20,
        "VP Sales",
        (
            (
                "Account Management",
                ("Account Executive", "Senior Account Executive", "Account Manager"),
            ),
            ("Sales Development", ("Sales Development Representative",)),
            ("Sales Engineering", ("Sales Engineer", "Solutions Consultant")),
        ),
    ),
    Department(
        "Support",
        "SUP",
        0.15,
        "VP Customer Support",
        (
            ("Customer Support", ("Customer Support Specialist", "Senior Support Specialist")),
            ("Technical Support", ("Technical Support Engineer",)),
            ("Customer Success", ("Customer Success Manager",)),
        ),
    ),
    Department(
        "Operations",
        "OPS",
        0.10,
        "Chief Operating Officer",
        (
            ("Business Operations", ("Operations Analyst", "Project Coordinator")),
            ("IT", ("IT Support Technician", "Systems Administrator")),
            ("Procurement", ("Procurement Specialist",)),
        ),
    ),
    Department(
        "Marketing",
        "MKT",
        0.08,
        "VP Marketing",
        (
            ("Product Marketing", ("Product Marketing Manager",)),
            ("Demand Generation", ("Demand Generation Specialist", "Marketing Operations Analyst")),
            ("Brand and Content", ("Content Strategist", "Graphic Designer", "Copywriter")),
        ),
    ),
    Department(
        "Finance",
        "FIN",
        0.07,
        "Chief Financial Officer",
        (
            ("Accounting", ("Accountant", "Accounts Payable Specialist")),
            ("Financial Planning", ("Financial Analyst",)),
            ("Payroll", ("Payroll Specialist",)),
        ),
    ),
    Department(
        "HR",
        "HR",
        0.06,
        "Chief People Officer",
        (
            ("People Operations", ("HR Generalist", "People Partner")),
            ("Talent Acquisition", ("Recruiter", "Sourcer")),
            ("Learning and Development", ("Learning and Development Specialist",)),
        ),
    ),
    Department(
        "Legal",
        "LEG",
        0.06,
        "General Counsel",
        (
            ("Legal", ("Legal Counsel", "Paralegal")),
            ("Compliance", ("Compliance Analyst", "Contracts Manager")),
        ),
    ),
)

LOCATIONS: tuple[Location, ...] = (
    Location("London", "LON", "GB", "Europe/London", "en", 0.20),
    Location("New York", "NYC", "US", "America/New_York", "en", 0.18),
    Location("Berlin", "BER", "DE", "Europe/Berlin", "de", 0.12),
    Location("Austin", "AUS", "US", "America/Chicago", "en", 0.12),
    Location("Paris", "PAR", "FR", "Europe/Paris", "fr", 0.10),
    Location("Toronto", "TOR", "CA", "America/Toronto", "en", 0.10),
    Location("Singapore", "SIN", "SG", "Asia/Singapore", "en", 0.09),
    Location("Sydney", "SYD", "AU", "Australia/Sydney", "en", 0.09),
)

# (value, weight)
EMPLOYMENT_TYPES: tuple[tuple[str, float], ...] = (
    ("full_time", 0.85),
    ("part_time", 0.07),
    ("contractor", 0.06),
    ("intern", 0.02),
)

FIRST_NAMES: tuple[str, ...] = (
    "Amelia",
    "Oliver",
    "Isla",
    "George",
    "Ava",
    "Noah",
    "Mia",
    "Leo",
    "Freya",
    "Arthur",
    "Camille",
    "Louis",
    "Chloé",
    "Hugo",
    "Léa",
    "Jules",
    "Manon",
    "Gabriel",
    "Inès",
    "Raphaël",
    "Emma",
    "Lukas",
    "Hannah",
    "Felix",
    "Lena",
    "Jonas",
    "Marie",
    "Paul",
    "Sophie",
    "Maximilian",
    "Olivia",
    "Liam",
    "Sophia",
    "James",
    "Isabella",
    "Lucas",
    "Charlotte",
    "Ethan",
    "Harper",
    "Mason",
    "Wei",
    "Mei",
    "Jun",
    "Hui Min",
    "Arjun",
    "Priya",
    "Rahul",
    "Ananya",
    "Siti",
    "Farid",
    "Chloe",
    "Jack",
    "Ruby",
    "William",
    "Matilda",
    "Thomas",
    "Zoe",
    "Lachlan",
    "Grace",
    "Henry",
    "Aiden",
    "Maya",
    "Nathan",
    "Leah",
    "Owen",
    "Aisha",
    "Omar",
    "Fatima",
    "Diego",
    "Lucía",
)

LAST_NAMES: tuple[str, ...] = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Wright",
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schulz",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Anderson",
    "Jackson",
    "White",
    "Harris",
    "Clark",
    "Tan",
    "Lim",
    "Lee",
    "Ng",
    "Ong",
    "Wong",
    "Chen",
    "Kumar",
    "Singh",
    "Nguyen",
    "Kelly",
    "Walsh",
    "Murphy",
    "Campbell",
    "Stewart",
    "Roy",
    "Tremblay",
    "Gagnon",
    "Côté",
    "Bouchard",
    "Okafor",
    "Mensah",
    "Haddad",
    "Khan",
    "Rossi",
    "Bianchi",
    "Novak",
    "Kowalski",
    "Larsen",
    "Silva",
)

"""Course templates for the demo and the benchmarks: realistic, short, workplace courses.

Each template is plain data (no ORM): modules of activities of every kind (Markdown page, video
by URL, external link, knowledge check with single / multiple / true-false / short questions and
feedback). The generator turns them into rows; at bench scale it reuses them with a numbered title.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ChoiceSpec:
    text: str
    correct: bool = False
    feedback: str = ""


@dataclass(frozen=True)
class QuestionSpec:
    kind: str  # "single" | "multiple" | "true_false" | "short"
    prompt: str
    choices: tuple[ChoiceSpec, ...] = ()
    accepted: tuple[str, ...] = ()  # short answers; "true"/"false" for true_false
    correct_feedback: str = ""
    incorrect_feedback: str = ""


@dataclass(frozen=True)
class ActivitySpec:
    kind: str  # "page" | "video" | "link" | "quiz"
    title: str
    minutes: int
    body: str = ""
    url: str = ""
    required: bool = True
    questions: tuple[QuestionSpec, ...] = ()


@dataclass(frozen=True)
class ModuleSpec:
    title: str
    activities: tuple[ActivitySpec, ...]


@dataclass(frozen=True)
class CourseSpec:
    slug: str
    title: str
    summary: str
    description: str
    tags: tuple[str, ...]
    modules: tuple[ModuleSpec, ...] = field(default_factory=tuple)

    @property
    def minutes(self) -> int:
        return sum(a.minutes for m in self.modules for a in m.activities)


def _true_false(prompt: str, answer: bool, right: str, wrong: str) -> QuestionSpec:
    return QuestionSpec(
        kind="true_false",
        prompt=prompt,
        choices=(ChoiceSpec("True", correct=answer), ChoiceSpec("False", correct=not answer)),
        accepted=("true" if answer else "false",),
        correct_feedback=right,
        incorrect_feedback=wrong,
    )


WELCOME = CourseSpec(
    slug="welcome",
    title="Welcome aboard: your first week",
    summary="How we work, who to ask, and the tools you will use from day one.",
    description=(
        "Everything a new colleague needs in the **first week**: our values, how teams are "
        "organised, the tools you will use and who to ask when you are stuck."
    ),
    tags=("onboarding", "starter"),
    modules=(
        ModuleSpec(
            "How we work",
            (
                ActivitySpec(
                    "page",
                    "Our values in practice",
                    4,
                    body=(
                        "## Our values\n\n"
                        "1. **Customers first**: we start from the problem, not the product.\n"
                        "2. **Write it down**: decisions live in documents, not in meetings.\n"
                        "3. **Own the outcome**: if you see it, you can fix it, or find who "
                        "can.\n\n"
                        "> Ask early. Nobody expects you to know everything in week one."
                    ),
                ),
                ActivitySpec(
                    "video",
                    "A message from the leadership team",
                    5,
                    url="https://media.example.org/uptake-demo/welcome-leadership.mp4",
                ),
            ),
        ),
        ModuleSpec(
            "Tools and people",
            (
                ActivitySpec(
                    "page",
                    "Your first-week checklist",
                    3,
                    body=(
                        "- Meet your manager and your onboarding buddy\n"
                        "- Set up multi-factor authentication\n"
                        "- Book your equipment and desk\n"
                        "- Read your team's *how we work* page"
                    ),
                ),
                ActivitySpec(
                    "link",
                    "The employee handbook",
                    2,
                    url="https://handbook.example.org/",
                    required=False,
                ),
                ActivitySpec(
                    "quiz",
                    "Check: your first week",
                    3,
                    questions=(
                        QuestionSpec(
                            kind="single",
                            prompt="Where do important decisions get recorded?",
                            choices=(
                                ChoiceSpec("In a written document", True, "Yes: write it down."),
                                ChoiceSpec("In the meeting only", False, "Meetings are lost."),
                                ChoiceSpec("Nowhere", False, "Then nobody can find them."),
                            ),
                            correct_feedback="Right: decisions live in documents.",
                            incorrect_feedback="Decisions are written down for all to find.",
                        ),
                        _true_false(
                            "You are expected to know everything in your first week.",
                            False,
                            "Correct: ask early, ask often.",
                            "Nobody expects that: ask early.",
                        ),
                    ),
                ),
            ),
        ),
    ),
)

SECURITY = CourseSpec(
    slug="security-essentials",
    title="Information security essentials",
    summary="Spot phishing, protect your accounts and report incidents fast.",
    description=(
        "A **compliance** course, renewed every year. Twelve minutes on the habits that stop "
        "most attacks: spotting phishing, strong authentication and reporting quickly."
    ),
    tags=("compliance", "security"),
    modules=(
        ModuleSpec(
            "Phishing",
            (
                ActivitySpec(
                    "page",
                    "How to spot a phishing email",
                    4,
                    body=(
                        "## Five warning signs\n\n"
                        '- A sense of **urgency** ("your account closes today")\n'
                        "- A sender address that *almost* matches\n"
                        "- Links whose target differs from their text\n"
                        "- Unexpected attachments\n"
                        "- Requests for passwords or payment details\n\n"
                        "When in doubt, use the **Report phishing** button."
                    ),
                ),
                ActivitySpec(
                    "video",
                    "Anatomy of a real attack",
                    4,
                    url="https://media.example.org/uptake-demo/security-phishing.mp4",
                ),
            ),
        ),
        ModuleSpec(
            "Accounts and incidents",
            (
                ActivitySpec(
                    "link",
                    "Top tips for staying secure online",
                    2,
                    url="https://www.ncsc.gov.uk/collection/top-tips-for-staying-secure-online",
                ),
                ActivitySpec(
                    "quiz",
                    "Knowledge check: security",
                    4,
                    questions=(
                        QuestionSpec(
                            kind="single",
                            prompt="An email asks you to confirm your password today. You…",
                            choices=(
                                ChoiceSpec("Reply with it", False, "Never share a password."),
                                ChoiceSpec("Report it as phishing", True, "Exactly."),
                                ChoiceSpec("Forward it to a colleague", False, "That spreads it."),
                            ),
                            correct_feedback="Reporting it protects everyone.",
                            incorrect_feedback="Report it: the security team can warn others.",
                        ),
                        QuestionSpec(
                            kind="multiple",
                            prompt="Which of these are warning signs of phishing? (choose all)",
                            choices=(
                                ChoiceSpec("Urgent tone", True),
                                ChoiceSpec("Look-alike sender address", True),
                                ChoiceSpec("Your manager's usual signature", False),
                                ChoiceSpec("Unexpected attachment", True),
                            ),
                            correct_feedback="All three signs spotted.",
                            incorrect_feedback="Urgency, look-alike senders and attachments.",
                        ),
                        _true_false(
                            "Multi-factor authentication stops most account takeovers.",
                            True,
                            "Correct: turn it on everywhere.",
                            "It does: it blocks the vast majority of takeovers.",
                        ),
                        QuestionSpec(
                            kind="short",
                            prompt="Which button do you use to report a suspicious email?",
                            accepted=("report phishing", "report"),
                            correct_feedback="Yes: Report phishing.",
                            incorrect_feedback="Use the Report phishing button in your mail app.",
                        ),
                    ),
                ),
            ),
        ),
    ),
)

DATA_PROTECTION = CourseSpec(
    slug="data-protection",
    title="Data protection basics (GDPR)",
    summary="What personal data is, when you may use it and what to do after a breach.",
    description="The essentials of the **GDPR** for everyone who touches customer or staff data.",
    tags=("compliance", "privacy"),
    modules=(
        ModuleSpec(
            "Personal data",
            (
                ActivitySpec(
                    "page",
                    "What counts as personal data",
                    3,
                    body=(
                        "Personal data is **any information about an identifiable person**: "
                        "a name, an email address, an IP address, a photo.\n\n"
                        "*Special category* data (health, religion, union membership) needs "
                        "extra care."
                    ),
                ),
                ActivitySpec(
                    "link",
                    "What is GDPR?",
                    3,
                    url="https://gdpr.eu/what-is-gdpr/",
                ),
            ),
        ),
        ModuleSpec(
            "Breaches",
            (
                ActivitySpec(
                    "video",
                    "The 72-hour rule",
                    3,
                    url="https://media.example.org/uptake-demo/gdpr-72-hours.mp4",
                ),
                ActivitySpec(
                    "quiz",
                    "Knowledge check: data protection",
                    3,
                    questions=(
                        QuestionSpec(
                            kind="single",
                            prompt="How long do we have to report a serious breach?",
                            choices=(
                                ChoiceSpec("24 hours", False),
                                ChoiceSpec("72 hours", True),
                                ChoiceSpec("30 days", False),
                            ),
                            correct_feedback="72 hours, so report internally at once.",
                            incorrect_feedback="It is 72 hours from becoming aware of it.",
                        ),
                        _true_false(
                            "An IP address can be personal data.",
                            True,
                            "Correct: it can identify a person.",
                            "It can identify a person, so it is personal data.",
                        ),
                    ),
                ),
            ),
        ),
    ),
)

FEEDBACK = CourseSpec(
    slug="feedback-that-helps",
    title="Giving feedback that helps",
    summary="A simple model for specific, kind and useful feedback.",
    description="Practise the **situation, behaviour, impact** model in seven minutes.",
    tags=("leadership", "communication"),
    modules=(
        ModuleSpec(
            "The model",
            (
                ActivitySpec(
                    "page",
                    "Situation, behaviour, impact",
                    3,
                    body=(
                        "Describe the **situation**, the observable **behaviour** and its "
                        "**impact**. Then ask a question and listen.\n\n"
                        "> *In Tuesday's demo, you answered the client's pricing question "
                        "clearly; they signed the next day.*"
                    ),
                ),
                ActivitySpec(
                    "video",
                    "Feedback in a one-to-one",
                    3,
                    url="https://media.example.org/uptake-demo/feedback-one-to-one.mp4",
                ),
                ActivitySpec(
                    "quiz",
                    "Check: feedback",
                    2,
                    questions=(
                        QuestionSpec(
                            kind="multiple",
                            prompt="Which are parts of the model? (choose all)",
                            choices=(
                                ChoiceSpec("Situation", True),
                                ChoiceSpec("Behaviour", True),
                                ChoiceSpec("Impact", True),
                                ChoiceSpec("Personality", False, "Describe behaviour instead."),
                            ),
                            correct_feedback="Situation, behaviour, impact.",
                            incorrect_feedback="Stick to what you saw and its effect.",
                        ),
                        QuestionSpec(
                            kind="short",
                            prompt="After giving feedback, what should you do? (one word)",
                            accepted=("listen", "ask"),
                            correct_feedback="Yes: ask, then listen.",
                            incorrect_feedback="Ask a question and listen.",
                        ),
                    ),
                ),
            ),
        ),
    ),
)

CUSTOMER_CONVERSATIONS = CourseSpec(
    slug="customer-conversations",
    title="Customer conversations that work",
    summary="Discovery questions, active listening and clear next steps.",
    description="For **Sales** and **Support**: run conversations customers are glad they had.",
    tags=("sales", "support", "starter"),
    modules=(
        ModuleSpec(
            "Discovery",
            (
                ActivitySpec(
                    "page",
                    "Open questions first",
                    4,
                    body=(
                        "Start with **open questions** (*what*, *how*, *tell me about*). "
                        "Summarise what you heard before proposing anything."
                    ),
                ),
                ActivitySpec(
                    "video",
                    "A discovery call, annotated",
                    6,
                    url="https://media.example.org/uptake-demo/discovery-call.mp4",
                ),
            ),
        ),
        ModuleSpec(
            "Next steps",
            (
                ActivitySpec(
                    "page",
                    "Agree one next step",
                    2,
                    body="End every call with **one** next step, an owner and a date.",
                ),
                ActivitySpec(
                    "quiz",
                    "Check: customer conversations",
                    3,
                    questions=(
                        QuestionSpec(
                            kind="single",
                            prompt="Which is an open question?",
                            choices=(
                                ChoiceSpec("Do you use spreadsheets?", False, "Yes/no question."),
                                ChoiceSpec("How do you plan the quarter today?", True),
                                ChoiceSpec("Is budget approved?", False, "Yes/no question."),
                            ),
                            correct_feedback="Open questions invite a story.",
                            incorrect_feedback="Open questions start with what or how.",
                        ),
                        _true_false(
                            "You should end a call with several next steps to keep options open.",
                            False,
                            "Right: one step, one owner, one date.",
                            "One clear next step beats several vague ones.",
                        ),
                    ),
                ),
            ),
        ),
    ),
)

ONE_TO_ONES = CourseSpec(
    slug="one-to-ones",
    title="Running effective one-to-ones",
    summary="For managers: a weekly half hour that keeps people growing and on track.",
    description="A **manager** essential: agenda, cadence and follow-up.",
    tags=("leadership", "managers"),
    modules=(
        ModuleSpec(
            "Cadence and agenda",
            (
                ActivitySpec(
                    "page",
                    "Their meeting, not yours",
                    3,
                    body=(
                        "The one-to-one belongs to your report: **they** bring the agenda. "
                        "Keep it weekly, keep notes, and never cancel twice in a row."
                    ),
                ),
                ActivitySpec(
                    "link",
                    "A one-to-one agenda template",
                    2,
                    url="https://handbook.example.org/managers/one-to-ones",
                ),
                ActivitySpec(
                    "quiz",
                    "Check: one-to-ones",
                    2,
                    questions=(
                        _true_false(
                            "The manager sets the agenda of a one-to-one.",
                            False,
                            "Correct: the report brings the agenda.",
                            "It is their meeting: they bring the agenda.",
                        ),
                        QuestionSpec(
                            kind="single",
                            prompt="What is a good default cadence?",
                            choices=(
                                ChoiceSpec("Weekly", True),
                                ChoiceSpec("Quarterly", False, "Too rare to help."),
                                ChoiceSpec("Only when there is a problem", False),
                            ),
                            correct_feedback="Weekly keeps small problems small.",
                            incorrect_feedback="Weekly is the usual default.",
                        ),
                    ),
                ),
            ),
        ),
    ),
)

COURSES: tuple[CourseSpec, ...] = (
    WELCOME,
    SECURITY,
    DATA_PROTECTION,
    FEEDBACK,
    CUSTOMER_CONVERSATIONS,
    ONE_TO_ONES,
)

"""A labelled synthetic caseload for measuring triage (bench/triage_quality.py).

Every sentence is invented here (SPEC §6: never real chats), in the ways chats and
forwarded reports are written: Levantine, Egyptian, Gulf, Iraqi and Maghrebi
Arabic, Arabizi, colloquial and misspelt English, moderators' summaries. Pure
Python: cases are plain data (the bench turns them into report XML and stores
them through the real intake services).

Labels:
* ``urgent``: a child at immediate risk (what must be P1), some carried only by
  the words (no annotation, no escalation), some abroad (P1 with a referral);
* ``serious``: needs prompt work but not immediate (a child's age named with
  grooming, sadistic exploitation annotated, ...);
* ``routine``: the bulk — known material, hard negatives (alarming words used
  harmlessly), provider flags set out of habit;
* ``benign``: viral memes.

Each case has a ``person``: the invented suspect behind it, the truth for the
clustering measure. People recur with their identifiers written several ways
(phones with and without the country code, emails in other letter cases); a
provider's placeholder contact address and phone appear on many unrelated
accounts.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

POSSESSION = "Child Pornography (possession, manufacture, and distribution)"
ENTICEMENT = "Online Enticement of Children for Sexual Acts"
UNSOLICITED = "Unsolicited Obscene Material Sent to a Child"

# Urgent sentences, by kind and dialect. {n} a number, {who} a family word.
URGENT = {
    "sextortion": {
        "levantine": ["ابعتيلي كمان وحدة وإلا بنشر صورك لأهلك", "اذا ما بتحولي المصاري رح انشر الصور عند كل صحابك", "والله لافضحك قدام المدرسة كلها",
                      "شو رأيك يشوفوا أهلك هالصور؟ إذا ما بتبعتي بنشرهن"],
        "egyptian": ["لو مبعتيش فيديو تاني هنشر صورك على الفيس", "هفضحك قدام أبوكي لو ما دفعتيش", "لو مش هتبعتي هبعت الصور دي لمامتك",
                     "انا معايا صورك ولو قفلتي في وشي هنزلها لكل الناس"],
        "gulf": ["والله ان ما ترسلين بنشر صورك بالسناب", "ترى بطرش الصور لأبوك إذا ما حولتي", "بفضحك عند أهلك اذا ما سويتي اللي اقوله"],
        "iraqi": ["اذا ما تدزين راح انشر صورج", "راح افضحج يم اهلج", "والله اذا ما تدزين فلوس راح انشر كلشي"],
        "maghrebi": ["الا ماصيفطتيش غادي نفضحك", "غادي نلوح تصاورك فالفيس الا ماخلصتيش", "ولا غادي نصيفط التصاور لباباك"],
        "arabizi": ["eza ma b3atiti sora tanye ra7 ansher sowarek", "law ma dafa3ti ha fda7ek", "wla ghadi nfda7ek 9dam kolchi", "ra7 ab3at sowarek la ahlik"],
        "english": ["send another one or i'll post these everywhere", "if u dont pay im sending ur pics to ur whole school", "imma expose you to your family",
                    "pay 200 or everyone will see", "u got 1 hour, send more or i post them"],
        "summary": ["The suspect threatened to leak the child's images unless she sent more", "المشتبه به يبتز الطفلة بصورها ويطلب المزيد",
                    "User reports being blackmailed with intimate photos by an adult account"],
    },
    "payment_images": {
        "levantine": ["حولي ٥٠ دينار وبعدين ابعتيلي صورة لحالك", "ابعتيلي صور وحولي رصيد ١٠ دنانير"],
        "egyptian": ["ابعتلي ٢٠٠ جنيه فودافون كاش وصوريلي نفسك", "عايز صور جديدة وابعتلي فلوس"],
        "gulf": ["حولي ١٠٠ ريال وارسلي صورتك", "ابي صورتك وحولي رصيد"],
        "english": ["send me $100 in gift cards and more pics", "send pics and pay me 50 bucks"],
        "arabizi": ["lazem t7awli 100 dollar w b3atili sora", "7awli masari w sawri 7alik"],
    },
    "meeting_secrecy": {
        "levantine": ["بمر عليكي بعد المدرسة بس ما تقولي لحدا", "وين ساكنة؟ ما تخبري أهلك اني جاي"],
        "egyptian": ["تعالي عندي البيت بكرة ومتقوليش لمامتك", "نتقابل بكرة بس دي سر بيني وبينك"],
        "gulf": ["وش عنوان بيتكم؟ لا تعلمين أحد", "ابي اشوفك بكرة ولا تقولين لأحد"],
        "iraqi": ["وين بيتج؟ اجي اخذج بس لا تكولين لأهلج", "نتلاقى باجر وخليها سر"],
        "maghrebi": ["فين كتسكني؟ نتلاقاو غدا وماتقوليش لحتى واحد", "نتلاقاو ورا المدرسة وماتقوليش لماماك"],
        "arabizi": ["wen sakne? net2abal bukra bas ma t2oli la 7ada", "ta3ali la3ndi w sir bena"],
        "english": ["lets meet saturday, dont tell ur parents", "i can pick u up after school. our little secret ok", "where do u live? delete this chat after"],
    },
    "meeting_child": {
        "levantine": ["عمري ١٢ … طيب وين ساكنة؟ بمر عليكي", "انا بالصف السادس. تعالي لعندي بكرا"],
        "egyptian": ["انا عندي ١٣ سنة — تعالي عندي البيت", "انا في سادسة ابتدائي. نتقابل بكرة؟"],
        "gulf": ["عمري احدعش. وش عنوان بيتكم؟", "انا في سادس ابتدائي… اجيك بكرة"],
        "english": ["im 12. wanna meet up this weekend?", "i'm in 6th grade — where do you live", "im 13 yo. meet me at the mall"],
        "arabizi": ["3omri 12 … wen sakne? ta3ali la3ndi"],
    },
    "images_young": {
        "levantine": ["عمري ١١ — ابعتيلي صورة لحالك", "انا بالصف الخامس. صوريلي حالك"],
        "egyptian": ["انا عندي ١١ سنة … صوريلي نفسك من غير هدوم", "عمري ١٠ — ابعتلي صورة ليكي"],
        "gulf": ["عمري ١١ — ارسلي صورتك", "انا في خامس ابتدائي … ابي صورتك"],
        "iraqi": ["عمري ١١ … دزيلي صورة الج"],
        "english": ["im 11. send me a pic of u", "i'm in 5th grade. show me ur body", "im 10 … send pics"],
    },
    "images_secrecy": {
        "levantine": ["ابعتيلي صورة وامسحي المحادثة بعدين", "صوريلي حالك بس خليها سر بيناتنا"],
        "english": ["send me a pic and delete the chat after", "send pics, keep it a secret ok"],
        "gulf": ["ارسلي صورتك ولا تقولين لأحد"],
        "arabizi": ["b3atili sora w ma t2oli la 7ada"],
    },
    "self_harm": {
        "levantine": ["خلص ما عاد بدي عيش، بدي موت", "رح اقتل حالي الليلة"],
        "egyptian": ["هنتحر النهاردة محدش هيحس بيا", "مش عايزة اعيش تاني"],
        "gulf": ["ابي اموت ما احد يبيني", "بذبح روحي الليلة"],
        "iraqi": ["اريد اموت والله", "راح انتحر اليوم"],
        "maghrebi": ["بغيت نموت", "غادي نقتل روحي"],
        "arabizi": ["bade mout khalas", "ra7 ente7er el leile"],
        "english": ["i want to die tonight", "im gonna kms", "i cut myself again and i want it to end"],
    },
    "threats_child": {
        "levantine": ["عمري ١٢ … وهو قلي رح اقتلك اذا حكيتي", "انا بالصف السادس وقلي بعرف وين ساكنة"],
        "english": ["im 12 and he said i know where u live", "i'm 11. he said ill hurt you if you tell"],
        "egyptian": ["انا عندي ١٢ سنة وقالي هقتلك لو اتكلمتي"],
    },
}

# Serious, not immediate: a child's age named, grooming without the dangerous combination.
SERIOUS = {
    "age_only": ["عمري ١١", "انا بالصف الخامس", "I'm 11 lol", "3omri 11", "انا عندي ١١ سنة", "im 11", "عمري احدعش", "انا في خامس ابتدائي"],
    "grooming": ["كم عمرك؟ انتي ناضجة كتير", "how old are you? u seem mature", "شو صفك؟ بتحبي الألعاب؟", "what grade are you in"],
    "secrecy_only": ["ما تقولي لحدا اننا بنحكي", "dont tell anyone we talk", "خليها سر بيناتنا"],
    "image_only": ["ابعتيلي صورة", "send me a pic", "ابي صورتك"],
}

# Hard negatives: alarming words, harmless use.
HARMLESS = [
    "send me the pics from the school trip", "ابعتيلي صور الرحلة لو سمحتي", "ابعتلي صور الحفلة امبارح", "lets meet after school for football",
    "نتقابل بعد الدرس عشان نذاكر", "نلتقي بالنادي للتمرين", "meet me at the library to study", "اخوي عمره ١١ وبيحب الكورة", "my brother is 11 and plays fifa",
    "لما كان عمري ١١ سافرنا على تركيا", "when i was 11 i had a dog", "بموت من الضحك هههه", "lol im dying of laughter", "i would never hurt myself",
    "ما رح اقتلك يا زلمة", "i will kill you in fortnite lol", "بذبحك في اللعبة ههههه", "dont tell mom about the surprise party", "pay me back for lunch",
    "awareness campaign: never send nudes to strangers", "I'm 5 minutes away", "يا عمري انتي", "ماما هتقتلني لو اتأخرت", "صورتك حلوة",
    "nice pics from your trip", "هموت من الجوع", "والله بموت عليك يا صاحبي", "my sister is in 7th grade lol", "see you at practice tomorrow",
    "خليها مفاجأة لعيد ميلاد ماما", "ابعتلي صورة الواجب", "send me the homework photo", "bro i'm gonna destroy you in fifa", "حولي حق البيتزا",
]
ROUTINE_TEXT = ["", "", "", "", "hello", "مرحبا كيفك", "shared a link to a cloud folder", "[شارك رابطاً لمجلد تخزين خارجي]", "hi how r u", "شو عم تعمل"]

DIALECTS = ("levantine", "egyptian", "gulf", "iraqi", "maghrebi", "arabizi", "english", "summary")
FOREIGN = ("JO", "EG", "SA", "IQ", "MA")


@dataclass
class Case:
    label: str  # urgent / serious / routine / benign
    kind: str  # what it is, for the breakdown
    person: int  # the invented suspect (the clustering truth)
    chat: str = ""
    incident_type: str = POSSESSION
    escalation: str = ""
    annotations: tuple[str, ...] = ()
    recipient_age: int | None = None
    files: list[dict] = field(default_factory=list)  # FileSpec fields
    batched: bool = False
    country: str = "PS"
    words_only: bool = False  # the only evidence of danger is the text


def _chat(rng: random.Random, sentence: str) -> str:
    name = rng.choice(["falcon", "zizo", "dark_knight", "sara.x", "m7md", "lolo", "ghost", "abu_3ali"])
    before = rng.choice(["", "", "hi", "مرحبا", "هاي", "سلام", "heyy"])
    lines = [f"[{rng.randint(18, 23)}:{rng.randint(10, 59)}] {name}: {before}"] if before else []
    lines.append(f"[{rng.randint(18, 23)}:{rng.randint(10, 59)}] {name}: {sentence}")
    return "\n".join(lines)


def caseload(n_people: int = 420, seed: int = 19) -> list[Case]:
    """About 1,150 labelled cases (the exact number depends only on the seed)."""
    rng = random.Random(seed)
    cases: list[Case] = []
    person = iter(range(1, 10_000))

    def someone() -> int:
        return next(person)

    # Urgent, words only: every kind in every dialect it has, several times over.
    for kind, by_dialect in URGENT.items():
        for dialect, sentences in by_dialect.items():
            for sentence in sentences:
                for _ in range(3):
                    foreign = rng.random() < 0.15
                    cases.append(Case("urgent", f"{kind}/{dialect}", someone(), chat=_chat(rng, sentence),
                                      incident_type=rng.choice([POSSESSION, ENTICEMENT, ENTICEMENT, UNSOLICITED]),
                                      country=rng.choice(FOREIGN) if foreign else "PS", words_only=True))
    # Urgent, flagged by the provider or by the files.
    for _ in range(60):
        foreign = rng.random() < 0.25
        if rng.random() < 0.5:
            cases.append(Case("urgent", "escalated", someone(), escalation="A child disclosed ongoing abuse; immediate risk.",
                              incident_type=ENTICEMENT, recipient_age=rng.randint(9, 14), country=rng.choice(FOREIGN) if foreign else "PS"))
        else:
            cases.append(Case("urgent", "new_production", someone(), files=[{"annotations": ("possibleSelfProduction",), "exif": True, "public": False}],
                              country=rng.choice(FOREIGN) if foreign else "PS"))
    # Serious.
    for kind, sentences in SERIOUS.items():
        for sentence in sentences:
            for _ in range(5):
                cases.append(Case("serious", kind, someone(), chat=_chat(rng, sentence), incident_type=rng.choice([ENTICEMENT, POSSESSION]),
                                  annotations=rng.choice([(), (), ("minorToMinorInteraction",)])))
    for _ in range(30):
        cases.append(Case("serious", "sadistic", someone(), annotations=("sadisticOnlineExploitation",)))
    # Routine: hard negatives, known material, flags set out of habit.
    for sentence in HARMLESS:
        for _ in range(5):
            cases.append(Case("routine", "harmless_words", someone(), chat=_chat(rng, sentence), incident_type=rng.choice([POSSESSION, UNSOLICITED, ENTICEMENT]),
                              annotations=rng.choice([(), (), ("csamSolicitation",), ("minorToMinorInteraction",)])))
    for i in range(300):
        flags = rng.choice([(), (), (), ("csamSolicitation",), ("sextortion",), ("minorToMinorInteraction",)])
        cases.append(Case("routine", "known_material", someone(), chat=_chat(rng, rng.choice(ROUTINE_TEXT)) if rng.random() < 0.5 else "",
                          annotations=flags, files=[{"content": f"material-{i}".encode(), "annotations": rng.choice([(), (), ("generativeAi",)])}],
                          country=rng.choice(("PS", "PS", "PS") + FOREIGN)))
    # Benign: viral memes.
    for _ in range(80):
        cases.append(Case("benign", "viral", someone(), batched=True, files=[{"content": b"meme-" + bytes([rng.randint(0, 4)]), "annotations": ("viral", "potentialMeme"), "public": True}],
                          annotations=rng.choice([(), ("sextortion",)])))
    # Recurring suspects: a share of the people come back with another report or two.
    repeat = [c for c in cases if c.label in ("urgent", "serious", "routine") and rng.random() < 0.18]
    for c in repeat:
        cases.append(Case("routine", "repeat", c.person, chat=_chat(rng, rng.choice(ROUTINE_TEXT)),
                          incident_type=c.incident_type, country=c.country))
    rng.shuffle(cases)
    return cases

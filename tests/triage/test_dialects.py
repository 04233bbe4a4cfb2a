"""Built-in indicator patterns per category and dialect: pure, no database.

Every sentence here is invented for the test (SPEC §6), written the way chats are
written: dialect, Arabizi, misspelt English, elongation, digits of every kind.
"""
from __future__ import annotations

import pytest

from himaya.triage.arabic import find_indicators, fold

# (dialect, text, category that must count, age when the category is "age")
POSITIVE = [
    # sextortion: threats to expose, conditional demands, blackmail reported
    ("levantine", "ابعتيلي كمان صور وإلا بنشر صورك لأهلك", "sextortion", None),
    ("levantine", "اذا ما بتبعتي رح انشر كل اشي عندي", "sextortion", None),
    ("egyptian", "لو مبعتيش الفلوس هفضحك قدام الكل", "sextortion", None),
    ("egyptian", "هبعت الصور دي لأبوكي النهارده", "sextortion", None),
    ("gulf", "والله ان ما ترسلين بطرش صورك لأهلك", "sextortion", None),
    ("iraqi", "اذا ما تدزين راح انشر صورج بكل مكان", "sextortion", None),
    ("maghrebi", "إلا ماصيفطتيش الفلوس غادي نفضحك", "sextortion", None),
    ("msa", "سأنشر صورك إن لم تدفعي", "sextortion", None),
    ("summary", "المستخدم يبتز الطفلة بصورها الخاصة", "sextortion", None),
    ("arabizi", "eza ma b3atiti ra7 ansher kel shi", "sextortion", None),
    ("arabizi", "ha fda7ek 2odam el kol", "sextortion", None),
    ("arabizi", "ra7 ab3at sowarek la ahlik", "sextortion", None),
    ("english", "send more or i'll post them everywhere", "sextortion", None),
    ("english", "if u dont pay i will send ur pics to ur school", "sextortion", None),
    ("english", "im gonna expose you", "sextortion", None),
    ("summary", "The suspect threatened to leak the images", "sextortion", None),
    ("summary", "user is being blackmailed with private photos", "sextortion", None),
    ("elongated", "وإلااا بنشررررر صوررك", "sextortion", None),
    # payment demands
    ("levantine", "حولي ٥٠ دينار هلق", "payment", None),
    ("egyptian", "ابعتلي ٢٠٠ جنيه فودافون كاش", "payment", None),
    ("gulf", "ادفعي لي الحين", "payment", None),
    ("arabizi", "lazem t7awli 100 dollar", "payment", None),
    ("english", "send me $200 in gift cards", "payment", None),
    ("english", "pay up now", "payment", None),
    # requests for images
    ("levantine", "ابعتيلي صورة لحالك هلأ", "image_request", None),
    ("egyptian", "صوريلي نفسك من غير هدوم", "image_request", None),
    ("gulf", "ابي اشوف صورتك بدون عباية", "image_request", None),
    ("iraqi", "دزيلي صورة الج", "image_request", None),
    ("maghrebi", "صيفطي ليا تصويرة ديالك", "image_request", None),
    ("arabizi", "b3atili sora la 7alik", "image_request", None),
    ("english", "snd me sum pics", "image_request", None),
    ("english", "show me ur body", "image_request", None),
    # meeting arrangements
    ("levantine", "وين ساكنة؟ بمر عليكي بالسيارة", "meeting", None),
    ("egyptian", "تعالي عندي البيت بكرة", "meeting", None),
    ("gulf", "وش عنوان بيتكم", "meeting", None),
    ("iraqi", "وين بيتج اجي اخذج", "meeting", None),
    ("maghrebi", "فين كتسكني؟ نتلاقاو غدا", "meeting", None),
    ("arabizi", "wen sakne? ta3ali la3ndi", "meeting", None),
    ("english", "wanna meet up this weekend", "meeting", None),
    ("english", "where do u live i can pick u up", "meeting", None),
    # secrecy demands
    ("levantine", "ما تقولي لحدا عن هالحكي", "secrecy", None),
    ("egyptian", "متقوليش لمامتك خالص", "secrecy", None),
    ("gulf", "لا تعلمين أحد", "secrecy", None),
    ("iraqi", "لا تكولين لأهلج", "secrecy", None),
    ("maghrebi", "ماتقوليش لحتى واحد", "secrecy", None),
    ("levantine", "امسحي المحادثة بعد ما تقري", "secrecy", None),
    ("levantine", "خليها سر بيناتنا", "secrecy", None),
    ("arabizi", "ma t2oli la 7ada", "secrecy", None),
    ("english", "dont tell ur parents about us", "secrecy", None),
    ("english", "this is our little secret", "secrecy", None),
    # age statements
    ("levantine", "عمري ١١", "age", 11),
    ("egyptian", "انا عندي ١٢ سنة", "age", 12),
    ("gulf", "عمري احدعش", "age", 11),
    ("levantine", "انا بالصف الخامس", "age", 10),
    ("gulf", "انا في سادس ابتدائي", "age", 11),
    ("persian digits", "عمري ۱۳", "age", 13),
    ("arabizi", "3omri 12 sne", "age", 12),
    ("english", "I'm 11", "age", 11),
    ("english", "im 12 yo", "age", 12),
    ("english", "i'm in 6th grade", "age", 11),
    # self-harm
    ("levantine", "بدي موت ما حدا بيحبني", "self_harm", None),
    ("egyptian", "هنتحر النهارده", "self_harm", None),
    ("gulf", "ابي اموت", "self_harm", None),
    ("maghrebi", "بغيت نموت", "self_harm", None),
    ("levantine", "رح اقتل حالي", "self_harm", None),
    ("arabizi", "bade mout", "self_harm", None),
    ("english", "i wanna kms", "self_harm", None),
    ("english", "im going to cut myself again", "self_harm", None),
    # threats of violence
    ("levantine", "والله لأقتلك", "threats", None),
    ("egyptian", "هقتلك لو شفتك", "threats", None),
    ("gulf", "بذبحك", "threats", None),
    ("iraqi", "راح اكسر راسك", "threats", None),
    ("maghrebi", "غادي نقتلك", "threats", None),
    ("arabizi", "ra7 a2tlek", "threats", None),
    ("english", "i know where u live", "threats", None),
    ("english", "ill hurt you", "threats", None),
]

# Harmless uses of alarming words: nothing counts.
NEGATIVE = [
    ("english", "send me the pics from the school trip"),
    ("levantine", "ابعتيلي صور الرحلة"),
    ("english", "lets meet after school for football"),
    ("egyptian", "نتقابل بعد الدرس عشان نذاكر"),
    ("levantine", "اخوي عمره ١١"),
    ("english", "my brother is 11"),
    ("english", "when i was 11 i had a dog"),
    ("levantine", "لما كان عمري ١١ سافرنا"),
    ("levantine", "بموت من الضحك"),
    ("english", "lol im dying of laughter"),
    ("english", "i would never hurt myself"),
    ("levantine", "ما رح اقتلك يا زلمة"),
    ("english", "i will kill you in fortnite lol"),
    ("gulf", "بذبحك في اللعبة ههههه"),
    ("english", "dont tell mom about the surprise party"),
    ("english", "pay me back for lunch"),
    ("english", "awareness campaign: never send nudes to strangers"),
    ("english", "I'm 5 minutes away"),
    ("levantine", "يا عمري انتي"),
    ("egyptian", "ماما هتقتلني لو اتأخرت"),
    ("levantine", "صورتك حلوة"),
    ("english", "nice pics from your trip"),
    ("egyptian", "ابعتلي صور الحفلة امبارح"),  # "send me" (not "I will send"), and "ام" is the start of "امبارح"
    ("levantine", "نلتقي بالنادي للتمرين"),
    ("levantine", "ابعتيلي صور الحفلة لماما"),  # a request to the person, not a threat to send them
]


@pytest.mark.parametrize(("dialect", "text", "category", "age"), POSITIVE, ids=[f"{c}-{d}-{i}" for i, (d, _, c, _) in enumerate(POSITIVE)])
def test_each_category_in_each_dialect(dialect: str, text: str, category: str, age: int | None) -> None:
    found = [i for i in find_indicators([("chat", text)]) if i.category == category and not i.discounted]
    assert found, (dialect, text, fold(text), find_indicators([("chat", text)]))
    m = found[0]
    assert m.field == "chat" and m.quote and m.quote in text and m.why  # explainable: the words, where, why
    if age is not None:
        assert m.age == age


@pytest.mark.parametrize(("dialect", "text"), NEGATIVE, ids=[f"neg-{i}" for i in range(len(NEGATIVE))])
def test_harmless_uses_do_not_count(dialect: str, text: str) -> None:
    counted = [i for i in find_indicators([("chat", text)]) if not i.discounted]
    assert not counted, (dialect, text, counted)


def test_if_not_is_a_condition_not_a_negation() -> None:
    found = {i.pid: i for i in find_indicators([("chat", "والله ان ما ترسلين بطرش صورك لأهلك")])}
    assert found["sextortion.publish_to"].discounted == ""


def test_a_discounted_match_says_why() -> None:
    [m] = find_indicators([("chat", "lets meet after school for football")])
    assert m.category == "meeting" and m.discounted == "context: football"
    [m] = find_indicators([("chat", "i would never hurt myself")])
    assert m.discounted == "negated"


def test_folding() -> None:
    assert fold("بنشررررر") == "بنشر" and fold("الله") == "الله"  # elongation, not a real double letter
    assert fold("pleeeease") == "pleease"
    assert fold("عمري ١١") == fold("عمري ۱۱") == "عمري 11"
    assert fold("أ إ آ ى ة ئ ؤ") == "ا ا ا ي ه ي و"
    assert fold("صُوَرَكِ") == "صورك" and fold("صـــور") == "صور"
    assert fold("  send\n\n ur   pics ") == "send ur pics"
    assert fold("ڤيديو ڨدام") == "فيديو قدام"  # Maghrebi letters


def test_words_between_the_parts_of_a_threat() -> None:
    [m] = [i for i in find_indicators([("chat", "send them tonight or else, trust me, i will post them")]) if i.category == "sextortion"]
    assert m.quote.startswith("or else") and m.quote.endswith("post")
    [m] = [i for i in find_indicators([("chat", "ابعتي الصور الليلة وإلا والله العظيم بنشر")]) if i.category == "sextortion"]
    assert m.quote.startswith("وإلا") and m.quote.endswith("بنشر")


def test_the_quote_is_the_reports_own_writing() -> None:
    by = {i.pid: i for i in find_indicators([("content", "وإلاااا بنشررر صوركِ")])}
    assert by["sextortion.conditional"].quote == "وإلاااا بنشررر"
    assert by["sextortion.publish_images"].quote == "بنشررر صورك"  # (a last diacritic is not part of the words matched)


def test_the_gates_lose_no_match() -> None:
    """Each pattern is tried only on texts that open its gate; on every sentence of
    these tests and of the bench's caseload that gives what trying every pattern gives."""
    from himaya.demo.triage_caseload import HARMLESS, ROUTINE_TEXT, SERIOUS, URGENT
    from himaya.triage.arabic import compile_patterns

    ungated = compile_patterns(gates=False)
    texts = [t for _, t, _, _ in POSITIVE] + [t for _, t in NEGATIVE] + HARMLESS + ROUTINE_TEXT
    texts += [s for by in URGENT.values() for items in by.values() for s in items] + [s for items in SERIOUS.values() for s in items]
    for text in texts:
        assert find_indicators([("chat", text)]) == find_indicators([("chat", text)], ungated), text

"""The pure text functions of tools/build_english_corpus.py, on small inline samples (no network)."""

import pytest

from tests.helpers import load_tool


@pytest.fixture(scope="module")
def corpus_tool():
    return load_tool("build_english_corpus")


def test_wordnet_noun_line_gives_definition_then_examples(corpus_tool):
    line = (
        "02206856 05 n 01 bee 0 005 @ 02203152 n 0000 #m 02206270 n 0000 | any of numerous hairy-bodied "
        'insects including social and solitary species; "bees make honey"; "she put honey in her tea"  '
    )
    lex_file, sentences = corpus_tool.parse_wordnet_line(line)
    assert lex_file == 5
    assert sentences == [
        "A bee is any of numerous hairy-bodied insects including social and solitary species.",
        "Bees make honey.",
        "She put honey in her tea.",
    ]


def test_wordnet_verb_adjective_proper_noun_and_markers(corpus_tool):
    verb = "02175958 39 v 01 hiss 0 001 @ 02176268 v 0000 01 + 02 00 | make a sharp hissing sound; \"the snake hissed\"  "
    assert corpus_tool.parse_wordnet_line(verb)[1] == ["To hiss is to make a sharp hissing sound.", "The snake hissed."]
    adj = "01234567 00 s 02 sweet(a) 0 sugary 0 000 | (of taste) having the taste of sugar  "
    assert corpus_tool.parse_wordnet_line(adj)[1] == ['"sweet" (of taste) means having the taste of sugar.']
    city = "08932568 15 n 01 Paris 0 000 | the capital and largest city of France  "
    assert corpus_tool.parse_wordnet_line(city)[1] == ["Paris is the capital and largest city of France."]
    multi_word = "00000001 05 n 01 queen_bee 0 000 | fertile egg-laying female bee  "
    assert corpus_tool.parse_wordnet_line(multi_word)[1] == ["Queen bee is fertile egg-laying female bee."]


def test_wordnet_header_and_attributions(corpus_tool):
    assert corpus_tool.parse_wordnet_line("  1 This software and database is being provided to you") is None
    definition, examples = corpus_tool.split_gloss(
        'be; "I think, therefore I am"--Descartes; "to be or not to be" - Shakespeare; "x"'
    )
    assert definition == "be"
    assert examples == ["I think, therefore I am", "to be or not to be"]  # one-word examples dropped


def test_as_sentence_and_normalize(corpus_tool):
    assert corpus_tool.as_sentence("  the sun   rises in the east ") == "The sun rises in the east."
    assert corpus_tool.as_sentence("is it raining?") == "Is it raining?"
    assert corpus_tool.as_sentence('he said "stop."') == 'He said "stop."'
    assert corpus_tool.normalize("go `ding dong',\tlike\na bell") == "go 'ding dong', like a bell"
    assert corpus_tool.normalize("cafe\u0301") == "caf\u00e9"


def test_devil_entry(corpus_tool):
    entry = (
        "AUCTIONEER, n.  The man who proclaims with a hammer that he has picked\n"
        "a pocket with his tongue.  He is rarely thanked.\n\n"
        "    Some verse that is dropped\n"
        "                                   G.J.\n"
    )
    assert corpus_tool.devil_entry_sentences(entry) == [
        '"Auctioneer" means the man who proclaims with a hammer that he has picked a pocket with his tongue.',
        "He is rarely thanked.",
    ]
    assert corpus_tool.devil_entry_sentences("AUSTRALIA, n.  A country lying in the South Sea.")[0] == (
        '"Australia" means a country lying in the South Sea.'
    )


def test_dictd_number_and_dedup_render(corpus_tool):
    assert corpus_tool.dictd_number("A") == 0 and corpus_tool.dictd_number("BA") == 64
    seen = set()
    docs = corpus_tool.deduplicate([["Bees make honey.", "Bees  make honey."], ["Bees make honey."], ["The sun rises."]], seen)
    assert docs == [["Bees make honey."], ["The sun rises."]]
    assert corpus_tool.render(docs) == "Bees make honey.\n\nThe sun rises.\n"
    assert corpus_tool.render([]) == ""

"""Random text in the scripts users clean: Japanese, English, Chinese and Korean.

The strings need not mean anything; they need the glyph statistics of each
script (stroke density, kana/kanji mix, upper-case lettering in comics).
"""

from __future__ import annotations

import numpy as np

HIRAGANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんがぎぐげござじずぜぞだでどばびぶべぼぱぴぷぺぽっゃゅょ"
KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンガギグゲゴザジズゼゾダデドバビブベボパピプペポッャュョー"
KANJI = (
    "日一国人年大十二本中長出三時行見月後前生五間上東四今金九入学高円子外八六下来気小七山話女北午百書先名"
    "川千水半男西電校語土木聞食車何南万毎白天母火右読友左休父雨会同事自社発者地業方新場員立開手力問代明動"
    "京目通言理体田主題意不作用度強公持野以思家世多正安院心界教文元重近考画海売知道集別物使品計死特私始朝"
    "運終台広住真有口少町料工建空急止送切転研足究楽起着店病質待試族銀早映親験英医仕去味写字答夜音注帰古歌"
    "買悪図週室歩風紙黒花春赤青館屋色走秋夏習駅洋旅服夕借曜飲肉貸堂鳥飯勉冬昼茶弟牛魚兄犬妹姉漢俺僕君彼様"
    "殺戦闘力魔法剣王神鬼竜光闇炎氷雷星夢愛恋涙笑怒叫声顔目手足血骨命心魂"
)
PUNCT_JA = "。、！？…「」ー〜♡"
HANZI_EXTRA = "们这个说吗吧呢么没还对给让从现过经发动觉样么爱请谢"
EN_WORDS = (
    "the you what this that not are was have with for just can know get like come right here there now "
    "wait stop help run look out go back what's going on don't can't won't i'm it's we you're they "
    "really never always nothing everything someone please thank sorry "
    "hey oh no yes okay why how "
    "where when who power fight battle enemy friend heart dream world light dark fire king magic sword "
    "boom crash bang whoosh thud slam crack zap pow wham kaboom snap click rumble thump"
).split()
SFX_JA = [
    "ドドド",
    "ゴゴゴ",
    "バン",
    "ドン",
    "ザッ",
    "ガッ",
    "ズズ",
    "シーン",
    "ドキドキ",
    "パチ",
    "ゴロゴロ",
    "ビリビリ",
]


def _hangul(rng: np.random.Generator, n: int) -> str:
    # Common syllables use few final consonants; sample finals sparsely.
    out = []
    for _ in range(n):
        lead, vowel = rng.integers(0, 19), rng.integers(0, 21)
        tail = rng.integers(1, 28) if rng.random() < 0.35 else 0
        out.append(chr(0xAC00 + (lead * 21 + vowel) * 28 + tail))
    return "".join(out)


def japanese(rng: np.random.Generator, n: int) -> str:
    pools = [HIRAGANA] * 5 + [KATAKANA] * 2 + [KANJI] * 3
    s = "".join(rng.choice(list(pools[rng.integers(len(pools))])) for _ in range(n))
    if rng.random() < 0.5:
        s += rng.choice(list(PUNCT_JA))
    return s


def chinese(rng: np.random.Generator, n: int) -> str:
    chars = KANJI + HANZI_EXTRA
    return "".join(chars[i] for i in rng.integers(0, len(chars), n))


def korean(rng: np.random.Generator, n: int) -> str:
    words = [_hangul(rng, int(rng.integers(1, 4))) for _ in range(max(1, n // 3))]
    return " ".join(words)


def english(rng: np.random.Generator, n_words: int) -> str:
    words = [EN_WORDS[i] for i in rng.integers(0, len(EN_WORDS), n_words)]
    s = " ".join(words)
    if rng.random() < 0.5:
        s += rng.choice(["!", "?", "...", "!!", "!?", "."])
    return s.upper() if rng.random() < 0.7 else s.capitalize()


def sfx(rng: np.random.Generator, script: str) -> str:
    if script == "ja":
        return str(rng.choice(SFX_JA))
    if script == "ko":
        return _hangul(rng, int(rng.integers(1, 4))) + "!"
    word = str(rng.choice(EN_WORDS[-16:])).upper()
    return word + "!" * int(rng.integers(0, 3))

"""Chinese names from Faker's zh_CN provider with pinyin userids, as WeCom tenants usually have.

Faker gives the name; the userid is its pinyin from the tables below, so 王芳 is `wangfang`
and a second 王芳 is `wangfang2`. A name whose characters are not in the tables (a newer
Faker may add some) is simply drawn again, so no pinyin library is needed.
"""

from __future__ import annotations

from faker import Faker

SURNAMES = dict(
    pair.split(":")
    for pair in (
        "王:wang 李:li 张:zhang 刘:liu 陈:chen 杨:yang 黄:huang 吴:wu 赵:zhao 周:zhou 徐:xu 孙:sun 马:ma 朱:zhu "
        "胡:hu 林:lin 郭:guo 何:he 高:gao 罗:luo 郑:zheng 梁:liang 谢:xie 宋:song 唐:tang 许:xu 邓:deng 冯:feng "
        "韩:han 曹:cao 曾:zeng 彭:peng 萧:xiao 蔡:cai 潘:pan 田:tian 董:dong 袁:yuan 于:yu 余:yu 叶:ye 蒋:jiang "
        "杜:du 苏:su 魏:wei 程:cheng 吕:lv 丁:ding 沈:shen 任:ren 姚:yao 卢:lu 傅:fu 钟:zhong 姜:jiang 崔:cui "
        "谭:tan 廖:liao 范:fan 汪:wang 陆:lu 金:jin 石:shi 戴:dai 贾:jia 韦:wei 夏:xia 邱:qiu 方:fang 侯:hou "
        "邹:zou 熊:xiong 孟:meng 秦:qin 白:bai 江:jiang 阎:yan 薛:xue 尹:yin 段:duan 雷:lei 黎:li 史:shi 龙:long "
        "陶:tao 贺:he 顾:gu 毛:mao 郝:hao 龚:gong 邵:shao 万:wan 钱:qian 严:yan 赖:lai 覃:qin 洪:hong 武:wu "
        "莫:mo 孔:kong"
    ).split()
)

GIVEN = dict(
    pair.split(":")
    for pair in (
        "伟:wei 强:qiang 磊:lei 洋:yang 勇:yong 军:jun 杰:jie 涛:tao 超:chao 明:ming 刚:gang 平:ping 辉:hui 鹏:peng "
        "华:hua 飞:fei 鑫:xin 波:bo 斌:bin 宇:yu 浩:hao 凯:kai 健:jian 俊:jun 帆:fan 帅:shuai 旭:xu 宁:ning 龙:long "
        "林:lin 欢:huan 佳:jia 阳:yang 亮:liang 成:cheng 建:jian 峰:feng 国:guo 晨:chen 瑞:rui 志:zhi 兵:bing 雷:lei "
        "东:dong 博:bo 彬:bin 坤:kun 想:xiang 岩:yan 杨:yang 文:wen 利:li 楠:nan 红:hong 霞:xia 芳:fang 娜:na "
        "敏:min 静:jing 秀:xiu 英:ying 丽:li 艳:yan 娟:juan 兰:lan 燕:yan 玲:ling 桂:gui 丹:dan 萍:ping 玉:yu "
        "梅:mei 莉:li 珍:zhen 婷:ting 凤:feng 晶:jing 颖:ying 雪:xue 慧:hui 倩:qian 琴:qin 畅:chang 云:yun 洁:jie "
        "柳:liu 淑:shu 春:chun 海:hai 冬:dong 荣:rong 莹:ying 琳:lin 欣:xin 香:xiang 芝:zhi 小:xiao 金:jin 瑜:yu "
        "花:hua 璐:lu"
    ).split()
)


def pinyin(surname: str, given: str) -> str | None:
    """`王`, `芳` -> `wangfang`; None if a character is not in the tables."""
    looked_up = [SURNAMES.get(surname), *(GIVEN.get(ch) for ch in given)]
    syllables = [s for s in looked_up if s is not None]
    if not given or len(syllables) < len(looked_up):
        return None
    return "".join(syllables)


class NameDrawer:
    """Draws distinct Chinese names and unique pinyin userids, avoiding the reserved ones."""

    def __init__(self, fake: Faker, reserved_names: set[str], reserved_userids: set[str]) -> None:
        self.fake = fake
        self.names = set(reserved_names)
        self.reserved = set(reserved_userids)
        self.userids = set(reserved_userids)

    def draw(self) -> tuple[str, str]:
        while True:
            surname = self.fake.last_name()
            given = self.fake.first_name_female() if self.fake.random.random() < 0.5 else self.fake.first_name_male()
            name = surname + given
            base = pinyin(surname, given)
            if base is None or name in self.names or base in self.reserved:
                continue
            self.names.add(name)
            userid, n = base, 1
            while userid in self.userids:
                n += 1
                userid = f"{base}{n}"
            self.userids.add(userid)
            return name, userid

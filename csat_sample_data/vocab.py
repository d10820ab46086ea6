"""Word lists the sample-data generator draws from: names, cities, store names, comments, ticket texts.

All people are invented: names are combinations of common Chinese and English names, e-mail
addresses use the reserved example domains (RFC 2606) and English phone numbers the UK's
fictional range (07700 900xxx).
"""

from __future__ import annotations

# (surname, pinyin), the most common Chinese surnames.
CN_SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
    ("高", "gao"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
)  # fmt: skip
CN_GIVEN_FEMALE = (
    ("秀英", "xiuying"), ("静", "jing"), ("丽", "li"), ("敏", "min"), ("婷", "ting"), ("芳", "fang"),
    ("娜", "na"), ("雪", "xue"), ("欣怡", "xinyi"), ("梓涵", "zihan"), ("诗琪", "shiqi"),
    ("雨桐", "yutong"), ("佳琪", "jiaqi"), ("思雨", "siyu"), ("晓燕", "xiaoyan"), ("丹", "dan"),
    ("颖", "ying"), ("慧", "hui"), ("玉兰", "yulan"), ("桂英", "guiying"),
)  # fmt: skip
CN_GIVEN_MALE = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("浩然", "haoran"),
    ("子轩", "zixuan"), ("宇轩", "yuxuan"), ("俊杰", "junjie"), ("建华", "jianhua"),
    ("志强", "zhiqiang"), ("文博", "wenbo"), ("鹏", "peng"), ("斌", "bin"), ("辉", "hui"),
)  # fmt: skip
EN_GIVEN_FEMALE = (
    "Emma", "Olivia", "Sophie", "Grace", "Chloe", "Emily", "Hannah", "Lucy", "Anna", "Laura",
    "Sarah", "Kate", "Julia", "Megan", "Alice", "Rachel", "Helen", "Claire", "Amy", "Zoe",
)  # fmt: skip
EN_GIVEN_MALE = (
    "James", "Oliver", "Jack", "Harry", "Thomas", "Daniel", "Samuel", "David", "Michael", "Peter",
    "Paul", "Mark", "Lucas", "Adam", "Ben", "Chris", "Luke", "Ryan", "Simon", "Tom",
)  # fmt: skip
EN_SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson",
    "Clarke", "Miller", "Martin", "Moore", "Baker", "Turner", "Hughes", "Parker", "Cooper", "Ward",
    "Morgan",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")

# Cities per region (index matches generator.REGIONS: north, south, east, west, central).
CITIES = (
    ("北京", "天津", "石家庄", "太原", "济南"),
    ("广州", "深圳", "佛山", "东莞", "厦门", "南宁"),
    ("上海", "杭州", "南京", "苏州", "宁波", "合肥"),
    ("成都", "重庆", "西安", "昆明", "贵阳"),
    ("武汉", "长沙", "郑州", "南昌"),
)
STORE_AREAS = (
    "中心", "万达", "天街", "东站", "西湖", "滨江", "高新", "新城", "大学城", "南门", "步行街",
    "国贸", "江北", "开发区", "北站", "湖滨",
)  # fmt: skip

# Survey comments per (language, sentiment): sentiment 0 negative, 1 neutral, 2 positive.
COMMENTS = {
    ("en", 0): (
        "Delivery was late again.",
        "Nobody answered my complaint for days.",
        "The product broke after a week, and support did not help.",
        "Long queue at the store, staff seemed too busy.",
        "Very disappointed, I was charged twice.",
        'The "express" delivery took five days.',
    ),
    ("en", 1): (
        "It was okay.",
        "Delivery was fine, packaging could be better.",
        "Average experience, nothing special.",
        "Prices are a bit high, but quality is good.",
    ),
    ("en", 2): (
        "Great service, will buy again.",
        "Fast delivery and friendly staff.",
        "Everything arrived on time, thank you!",
        "Staff were very helpful, especially Ms. Li at the counter.",
        "Easy checkout, good prices.",
    ),
    ("zh", 0): (
        "快递太慢了，等了一个星期。",
        "投诉了好几天都没人处理。",
        "产品质量有问题，退货很麻烦。",
        "门店排队太久，店员态度不好。",
        "重复扣款，非常失望！",
        "说好的“次日达”，结果第四天才到。",
    ),
    ("zh", 1): (
        "还可以吧。",
        "一般般，没有什么特别的。",
        "包装可以再好一点。",
        "价格有点贵，但质量还行。",
    ),
    ("zh", 2): (
        "服务很好，下次还会再来。",
        "送货很快，店员很热情。",
        "质量不错，物流也快。",
        "客服回复及时，问题很快解决了。",
        "价格实惠，购物体验很好。",
    ),
}

# Ticket descriptions per (language, category) with the categories of contract.TICKET_CATEGORIES.
DESCRIPTIONS = {
    ("en", "product_quality"): ("Product stopped working after a few days.", "Item arrived damaged."),
    ("en", "price"): ("I was charged more than the shelf price.", "The price dropped right after I bought it."),
    ("en", "service_attitude"): ("Store staff were rude to me.", "The agent hung up on me."),
    ("en", "delivery"): ("My order has not arrived yet.", "Parcel was delivered to the wrong address."),
    ("en", "billing"): ("I was charged twice for one order.", "My invoice is missing."),
    ("en", "environment"): ("The store was dirty and too crowded.", "No parking near the store."),
    ("en", "other"): ("Please update my contact details.", "Question about membership points."),
    ("zh", "product_quality"): ("商品用了几天就坏了。", "收到的商品有破损。"),
    ("zh", "price"): ("实际扣款比标价高。", "刚买完就降价了，要求补差价。"),
    ("zh", "service_attitude"): ("店员态度很差。", "客服直接挂了我的电话。"),
    ("zh", "delivery"): ("订单到现在还没送到。", "快递送错地址了。"),
    ("zh", "billing"): ("同一个订单被扣了两次款。", "发票还没有开。"),
    ("zh", "environment"): ("门店环境脏乱，人太多。", "门店附近没有停车位。"),
    ("zh", "other"): ("请帮我修改联系方式。", "咨询会员积分的问题。"),
}

PRODUCT_CATEGORIES = ("electronics", "home", "apparel", "beauty", "grocery", "sports")
# Median order amount (CNY) per product category.
PRODUCT_MEDIAN_AMOUNT = (1200.0, 350.0, 280.0, 220.0, 120.0, 400.0)

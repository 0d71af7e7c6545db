"""Static tables for the demo city: the organisation tree, Chinese names, positions and reasons.

Everything here is fictional. 滨江市 (Binjiang) is an invented city; its bureaus carry the usual
names of a Chinese city government's 委办局 so the organisation tree looks familiar to users.
"""
from __future__ import annotations

CITY = ("CITY", "滨江市", "Binjiang City")

# Divisions that every bureau has.
OFFICE = ("BGS", "办公室", "General Office")
PERSONNEL = ("RSC", "人事处", "Personnel Division")
ORG_PERSONNEL = ("ZZRSC", "组织人事处", "Organisation and Personnel Division")
LAW = ("ZCFGC", "政策法规处", "Policy and Regulations Division")
FINANCE = ("CWC", "财务处", "Finance Division")
PLANNING = ("ZHGHC", "综合规划处", "General Planning Division")

# A bureau: (code, name, English name, relative headcount, engagement 0–1, divisions).
# A division: (code, name, English name) or (code, name, English name, [sections]).
# Engagement drives how far the bureau has got with the rollout (see services.py): the
# officer's bureau (CZJ) is on track, officer2's (JTJ) is behind, the three pilots lead.
BUREAUS: list[tuple] = [
    ("FGW", "市发展和改革委员会", "Development and Reform Commission", 1.2, 0.84, [
        OFFICE, PERSONNEL, PLANNING,
        ("TZC", "固定资产投资处", "Fixed-Asset Investment Division"),
        ("JGC", "价格管理处", "Pricing Division"),
        LAW,
    ]),
    ("CZJ", "市财政局", "Finance Bureau", 1.5, 0.90, [
        OFFICE, ORG_PERSONNEL,
        ("YSC", "预算处", "Budget Division", [
            ("ZHK", "综合科", "General Section"),
            ("BMYSK", "部门预算科", "Departmental Budgets Section"),
        ]),
        ("GKC", "国库处", "Treasury Division", [
            ("GKZFK", "国库支付科", "Treasury Payments Section"),
            ("KJHSK", "会计核算科", "Accounting Section"),
        ]),
        ("ZFCGC", "政府采购管理处", "Government Procurement Division"),
        LAW,
    ]),
    ("RSJ", "市人力资源和社会保障局", "Human Resources and Social Security Bureau", 1.3, 0.95, [
        OFFICE, ORG_PERSONNEL,
        ("GWYGLC", "公务员管理处", "Civil Service Management Division"),
        ("JYCJC", "就业促进处", "Employment Promotion Division"),
        ("SHBXC", "社会保险处", "Social Insurance Division", [
            ("YLBXK", "养老保险科", "Pension Insurance Section"),
            ("GSSYK", "工伤失业保险科", "Work-Injury and Unemployment Insurance Section"),
        ]),
        ("ZYNLC", "职业能力建设处", "Vocational Skills Division"),
    ]),
    ("JYJ", "市教育局", "Education Bureau", 1.2, 0.70, [
        OFFICE, PERSONNEL,
        ("JCJYC", "基础教育处", "Basic Education Division"),
        ("ZYJYC", "职业教育与成人教育处", "Vocational and Adult Education Division"),
        ("JYDDC", "教育督导处", "Education Inspection Division"),
    ]),
    ("WJW", "市卫生健康委员会", "Health Commission", 1.3, 0.82, [
        OFFICE, PERSONNEL,
        ("YZYGC", "医政医管处", "Medical Administration Division"),
        ("JBYKC", "疾病预防控制处", "Disease Prevention and Control Division"),
        ("JCWSC", "基层卫生健康处", "Primary Health Care Division"),
        ("ZHJDC", "综合监督处", "Health Inspection Division"),
    ]),
    ("SCJGJ", "市市场监督管理局", "Market Regulation Bureau", 1.6, 0.78, [
        OFFICE, PERSONNEL, LAW,
        ("DJZCC", "登记注册处", "Business Registration Division"),
        ("SPAQC", "食品安全协调处", "Food Safety Coordination Division"),
        ("ZLJDC", "质量发展处", "Quality Development Division"),
    ]),
    ("STHJJ", "市生态环境局", "Ecology and Environment Bureau", 1.0, 0.69, [
        OFFICE, PERSONNEL,
        ("DQHJC", "大气环境处", "Air Quality Division"),
        ("SSTHJC", "水生态环境处", "Water Environment Division"),
        ("HPC", "环境影响评价处", "Environmental Impact Assessment Division"),
    ]),
    ("ZJJ", "市住房和城乡建设局", "Housing and Urban-Rural Development Bureau", 1.2, 0.60, [
        OFFICE, PERSONNEL,
        ("FDCC", "房地产市场监管处", "Property Market Supervision Division"),
        ("JZSCC", "建筑市场监管处", "Construction Market Supervision Division"),
        ("ZFBZC", "住房保障处", "Housing Security Division"),
    ]),
    ("JTJ", "市交通运输局", "Transport Bureau", 1.3, 0.50, [
        OFFICE, PERSONNEL, PLANNING,
        ("YSGLC", "运输管理处", "Transport Services Division"),
        ("GLGLC", "公路管理处", "Highways Division"),
        ("AQJDC", "安全监督处", "Safety Supervision Division"),
    ]),
    ("GAJ", "市公安局", "Public Security Bureau", 2.0, 0.52, [
        OFFICE,
        ("ZZB", "政治部", "Political Department"),
        ("ZAGLC", "治安管理处", "Public Order Division"),
        ("HZGLC", "户政管理处", "Household Registration Division", [
            ("HJK", "户籍科", "Registration Section"),
            ("SFZK", "居民身份证管理科", "Identity Card Section"),
        ]),
        ("CRJGLC", "出入境管理处", "Exit and Entry Division"),
        ("KXC", "科技信息化处", "Science, Technology and IT Division"),
    ]),
    ("ZSJ", "市政务服务和数据管理局", "Government Services and Data Administration", 1.1, 0.96, [
        OFFICE, PERSONNEL,
        ("ZWFWC", "政务服务处", "Government Services Division"),
        ("SJZYC", "数据资源处", "Data Resources Division", [
            ("SJGXK", "数据共享科", "Data Sharing Section"),
            ("SJAQK", "数据安全科", "Data Security Section"),
        ]),
        ("SZZFC", "数字政府建设处", "Digital Government Division"),
        ("YWTBC", "“一网通办”推进处", "One-Stop Online Services Division"),
    ]),
    ("TJJ", "市统计局", "Statistics Bureau", 0.7, 0.94, [
        OFFICE, PERSONNEL,
        ("ZHC", "综合处", "General Statistics Division"),
        ("HSC", "国民经济核算处", "National Accounts Division"),
        ("DCC", "社情民意调查处", "Social Survey Division"),
    ]),
    ("SJJ", "市审计局", "Audit Bureau", 0.8, 0.86, [
        OFFICE, PERSONNEL,
        ("CZSJC", "财政审计处", "Fiscal Audit Division"),
        ("JZSJC", "经济责任审计处", "Accountability Audit Division"),
        ("FGSLC", "法规审理处", "Legal Review Division"),
    ]),
    ("SFJ", "市司法局", "Justice Bureau", 1.0, 0.80, [
        OFFICE,
        ("ZZB", "政治部", "Political Department"),
        ("LFC", "立法处", "Legislation Division"),
        ("XZFYC", "行政复议与应诉处", "Administrative Review Division"),
        ("GGFLC", "公共法律服务管理处", "Public Legal Services Division"),
    ]),
    ("MZJ", "市民政局", "Civil Affairs Bureau", 1.0, 0.70, [
        OFFICE, PERSONNEL,
        ("SHJZC", "社会救助处", "Social Assistance Division"),
        ("YLFWC", "养老服务处", "Elderly Care Services Division"),
        ("SHZZC", "社会组织管理处", "Social Organisations Division"),
        ("ETFLC", "儿童福利处", "Child Welfare Division"),
    ]),
    ("NYJ", "市农业农村局", "Agriculture and Rural Affairs Bureau", 1.1, 0.45, [
        OFFICE, PERSONNEL,
        ("XCJSC", "乡村建设促进处", "Rural Development Division"),
        ("ZZYC", "种植业管理处", "Crop Production Division"),
        ("XMSYC", "畜牧兽医处", "Animal Husbandry and Veterinary Division"),
    ]),
    ("SWJ", "市商务局", "Commerce Bureau", 0.9, 0.72, [
        OFFICE, PERSONNEL,
        ("SCYXC", "市场运行和消费促进处", "Market and Consumption Division"),
        ("DWMYC", "对外贸易处", "Foreign Trade Division"),
        ("WZC", "外国投资管理处", "Foreign Investment Division"),
    ]),
    ("WGLJ", "市文化广电旅游局", "Culture, Radio, Television and Tourism Bureau", 1.0, 0.50, [
        OFFICE, PERSONNEL,
        ("YSC", "艺术处", "Arts Division"),
        ("GGFWC", "公共服务处", "Public Cultural Services Division"),
        ("LYFZC", "旅游发展处", "Tourism Development Division"),
        ("WWC", "文物处", "Cultural Heritage Division"),
    ]),
    ("YJJ", "市应急管理局", "Emergency Management Bureau", 1.0, 0.58, [
        OFFICE, PERSONNEL,
        ("YJZHC", "应急指挥处", "Emergency Command Division"),
        ("FZJZC", "防汛抗旱处", "Flood and Drought Control Division"),
        ("AQZHC", "安全生产综合协调处", "Work Safety Coordination Division"),
        ("WHPC", "危险化学品安全监管处", "Hazardous Chemicals Division"),
    ]),
    ("ZRZYJ", "市自然资源和规划局", "Natural Resources and Planning Bureau", 1.3, 0.71, [
        OFFICE, PERSONNEL,
        ("GTKJC", "国土空间规划处", "Spatial Planning Division"),
        ("GDBHC", "耕地保护监督处", "Farmland Protection Division"),
        ("BDCDJC", "不动产登记处", "Real Estate Registration Division", [
            ("DJK", "登记科", "Registration Section"),
            ("QJDCK", "权籍调查科", "Cadastral Survey Section"),
        ]),
        ("CHC", "测绘地理信息处", "Surveying and Geographic Information Division"),
    ]),
    ("SWUJ", "市水务局", "Water Affairs Bureau", 0.9, 0.38, [
        OFFICE, PERSONNEL,
        ("SZYC", "水资源管理处", "Water Resources Division"),
        ("GPSC", "供水排水处", "Water Supply and Drainage Division"),
        ("HHGLC", "河湖管理处", "Rivers and Lakes Division"),
    ]),
    ("TYJRJ", "市退役军人事务局", "Veterans Affairs Bureau", 0.6, 0.55, [
        OFFICE, PERSONNEL,
        ("YJAZC", "移交安置处", "Resettlement Division"),
        ("JYCYC", "就业创业处", "Employment and Entrepreneurship Division"),
        ("YFBYC", "优抚褒扬处", "Preferential Treatment Division"),
    ]),
    ("YBJ", "市医疗保障局", "Healthcare Security Bureau", 0.8, 0.80, [
        OFFICE, PERSONNEL,
        ("DYBZC", "待遇保障处", "Benefits Division"),
        ("YYJGC", "医药价格和招标采购处", "Medical Pricing and Procurement Division"),
        ("JJJGC", "基金监管处", "Fund Supervision Division"),
    ]),
    ("XFJ", "市信访局", "Letters and Visits Bureau", 0.5, 0.66, [
        OFFICE,
        ("LFJDC", "来访接待处", "Visitor Reception Division"),
        ("DCC", "督查督办处", "Follow-up Division"),
        ("WSXFC", "网上信访处", "Online Petitions Division"),
    ]),
    ("JGSWJ", "市机关事务管理局", "Government Offices Administration", 0.7, 0.68, [
        OFFICE, PERSONNEL, FINANCE,
        ("ZCGLC", "资产管理处", "Asset Management Division"),
        ("GWYCC", "公务用车管理处", "Official Vehicles Division"),
        ("JNC", "公共机构节能处", "Public-Sector Energy Saving Division"),
    ]),
    ("GZW", "市人民政府国有资产监督管理委员会", "State-owned Assets Supervision and Administration Commission", 0.8, 0.62, [
        OFFICE,
        ("DJC", "党建工作处", "Party Building Division"),
        ("CQGLC", "产权管理处", "Property Rights Division"),
        ("KHFPC", "考核分配处", "Performance and Remuneration Division"),
        ("QYGGC", "企业改革处", "Enterprise Reform Division"),
    ]),
    ("GXJ", "市工业和信息化局", "Industry and Information Technology Bureau", 1.0, 0.87, [
        OFFICE, PERSONNEL,
        ("YXJCC", "运行监测协调处", "Economic Monitoring Division"),
        ("XXHC", "信息化推进处", "Informatisation Division"),
        ("CYFZC", "产业发展处", "Industrial Development Division"),
    ]),
    ("CGJ", "市城市管理局", "Urban Management Bureau", 1.2, 0.34, [
        OFFICE, PERSONNEL,
        ("SRHWC", "市容环境卫生处", "City Appearance and Sanitation Division"),
        ("SZGYC", "市政公用处", "Municipal Utilities Division"),
        ("ZFJDC", "执法监督处", "Enforcement Supervision Division"),
    ]),
]

# Pilot units (试点单位) of the earlier CSDS-BASIC plan.
PILOT_BUREAUS = ["ZSJ", "RSJ", "TJJ"]

# The demo accounts: staff number → (department code, position, grade).
DEMO_PLACES = {
    "admin": ("CITY-RSJ-GWYGLC", "四级调研员", "处级"),
    "examiner": ("CITY-RSJ-GWYGLC", "一级主任科员", "科级"),
    "officer": ("CITY-CZJ-ZZRSC", "主任科员", "科级"),
    "officer2": ("CITY-JTJ-RSC", "主任科员", "科级"),
    "learner": ("CITY-CZJ-YSC-BMYSK", "科员", "科员级"),
    "learner2": ("CITY-CZJ-ZFCGC", "科员", "科员级"),
}
OFFICER_SCOPES = {"officer": "CITY-CZJ", "officer2": "CITY-JTJ"}
DEMO_PASSWORD = "demo12345"

# Positions (职务/职级) with their grade (级别) and the entry-year range of people who hold them.
BUREAU_LEADERS = [("局长", "局级", 1990, 2004), ("副局长", "局级", 1992, 2008)]
DIVISION_HEAD = ("处长", "处级", 1993, 2010)
DIVISION_DEPUTY = ("副处长", "处级", 1996, 2013)
SECTION_HEAD = ("科长", "科级", 2000, 2015)
SECTION_DEPUTY = ("副科长", "科级", 2004, 2018)
# The rest of a unit, by weight: roughly a pyramid.
RANK_AND_FILE = [
    (("四级调研员", "处级", 1992, 2010), 7),
    (("主任科员", "科级", 2000, 2017), 22),
    (("副主任科员", "科级", 2007, 2021), 28),
    (("科员", "科员级", 2014, 2025), 43),
]

EXEMPTION_REASONS = ["长期病假", "借调外单位", "新入职（宽限期内）"]

# Common surnames with approximate shares (percent of the population, rounded).
SURNAMES: list[tuple[str, float]] = [
    ("王", 7.1), ("李", 7.0), ("张", 6.8), ("刘", 5.4), ("陈", 4.6), ("杨", 3.2), ("黄", 2.3), ("赵", 2.3),
    ("吴", 2.0), ("周", 1.9), ("徐", 1.6), ("孙", 1.5), ("马", 1.5), ("朱", 1.3), ("胡", 1.3), ("郭", 1.2),
    ("何", 1.1), ("林", 1.1), ("高", 1.1), ("罗", 1.0), ("郑", 0.9), ("梁", 0.9), ("谢", 0.8), ("宋", 0.7),
    ("唐", 0.7), ("许", 0.7), ("韩", 0.7), ("冯", 0.6), ("邓", 0.6), ("曹", 0.6), ("彭", 0.6), ("曾", 0.5),
    ("肖", 0.5), ("田", 0.5), ("董", 0.5), ("袁", 0.5), ("潘", 0.4), ("于", 0.4), ("蒋", 0.4), ("蔡", 0.4),
    ("余", 0.4), ("杜", 0.4), ("叶", 0.4), ("程", 0.4), ("苏", 0.3), ("魏", 0.3), ("吕", 0.3), ("丁", 0.3),
    ("任", 0.3), ("沈", 0.3), ("姚", 0.3), ("卢", 0.3), ("姜", 0.3), ("崔", 0.3), ("钟", 0.3), ("谭", 0.3),
    ("陆", 0.2), ("汪", 0.2), ("范", 0.2), ("金", 0.2), ("石", 0.2), ("廖", 0.2), ("贾", 0.2), ("夏", 0.2),
    ("韦", 0.2), ("付", 0.2), ("方", 0.2), ("白", 0.2), ("邹", 0.2), ("孟", 0.2), ("熊", 0.2), ("秦", 0.2),
    ("邱", 0.2), ("江", 0.2), ("尹", 0.2), ("薛", 0.2), ("闫", 0.2), ("段", 0.2), ("雷", 0.2), ("侯", 0.2),
    ("龙", 0.2), ("史", 0.2), ("陶", 0.1), ("黎", 0.1), ("贺", 0.1), ("顾", 0.1), ("毛", 0.1), ("郝", 0.1),
    ("龚", 0.1), ("邵", 0.1), ("万", 0.1), ("钱", 0.1), ("严", 0.1), ("覃", 0.1), ("戴", 0.1), ("莫", 0.1),
    ("孔", 0.1), ("向", 0.1), ("汤", 0.1), ("欧阳", 0.05), ("上官", 0.01),
]

# Given-name characters. A given name is one character from the last list, or a first
# character followed by one from the last list.
GIVEN_FIRST = list("建志文晓海国俊子思雨家嘉明春雅秀丽玉永宏德新天宇立佳梓浩欣紫晨正学世瑞若亚少小静")
GIVEN_MALE = list("伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林阳峰亮成东文海志振彬豪博轩然睿")
GIVEN_FEMALE = list("芳娜敏静丽艳娟霞燕玲婷雪慧颖琳倩红梅萍洁琴云莉兰凤晶欣悦蕾佳怡璐瑶琪薇妍婧晴楠")

# Names of well-known people that the generator must never produce.
FAMOUS = {
    "王菲", "李娜", "刘翔", "姚明", "马云", "周杰伦", "刘德华", "张学友", "李小龙", "成龙", "赵薇", "黄渤",
    "王力宏", "孙俪", "杨洋", "李白", "杜甫", "刘备", "张飞", "关羽", "孙权", "曹操", "周瑜", "朱德",
    "李鹏", "朱镕基", "王俊凯", "易烊千玺", "杨幂", "刘涛", "张杰", "李宇春", "周迅", "陈坤", "黄磊",
    "刘欢", "林俊杰", "王宝强", "李连杰", "郭晶晶", "张怡宁", "马龙", "李杰", "王楠", "陈红", "林丹",
}

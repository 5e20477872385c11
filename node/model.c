/*
 * model.c - the kinds and fields of the policy's records (R1, R2, R3.2, R7)
 * and the validation of every value: GB 11643 resident IDs, calendar dates,
 * division codes, enums with their Chinese labels.
 *
 * This table is the one place a field is defined; see model.h.
 */
#include "carenode/model.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carenode/cert.h"
#include "carenode/division.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define REQ CN_FIELD_REQUIRED
#define SEN CN_FIELD_SENSITIVE
#define ML CN_FIELD_MULTILINE
#define DER CN_FIELD_DERIVED

/* ---- enumerations: code, Chinese, English ---- */

static const cn_enum_value sex_values[] = {{"male", "男", "male"}, {"female", "女", "female"}, {0}};

static const cn_enum_value parent_status_values[] = {
	{"migrant", "外出务工", "working away"},
	{"at_home", "在家", "at home"},
	{"deceased", "死亡", "deceased"},
	{"missing", "失踪", "missing"},
	{"incapacitated", "丧失监护能力",
	 "lost guardianship capacity (serious illness or disability)"},
	{"imprisoned", "服刑", "serving a sentence"},
	{"unknown", "不详", "unknown"},
	{0}};

static const cn_enum_value school_values[] = {
	{"preschool_age", "学龄前", "below school age"},
	{"kindergarten", "幼儿园", "kindergarten"},
	{"primary", "小学", "primary school"},
	{"junior", "初中", "junior middle school"},
	{"senior", "高中", "senior middle school"},
	{"vocational", "中职", "vocational school"},
	{"out_of_school", "失学辍学", "out of school (dropped out)"},
	{0}};

static const cn_enum_value health_values[] = {{"healthy", "健康", "healthy"},
					      {"chronic", "慢性病", "chronic illness"},
					      {"serious", "重病", "serious illness"},
					      {0}};

static const cn_enum_value disability_values[] = {{"none", "无", "none"},
						  {"physical", "肢体残疾", "physical"},
						  {"visual", "视力残疾", "visual"},
						  {"hearing", "听力残疾", "hearing"},
						  {"speech", "言语残疾", "speech"},
						  {"intellectual", "智力残疾", "intellectual"},
						  {"mental", "精神残疾", "mental"},
						  {"multiple", "多重残疾", "multiple"},
						  {0}};

static const cn_enum_value relief_values[] = {{"none", "无", "none"},
					      {"dibao", "低保", "minimum living allowance (dibao)"},
					      {"tekun", "特困", "extreme poverty support (tekun)"},
					      {0}};

static const cn_enum_value status_values[] = {
	{"active", "在册", "on the ledger"}, {"removed", "已移出", "removed from the ledger"}, {0}};

static const cn_enum_value removal_values[] = {
	{"parents_returned", "父母返乡", "parent(s) returned and took up care"},
	{"aged_16", "年满16周岁", "reached 16"},
	{"moved_away", "迁出", "moved away"},
	{"other", "其他", "other"},
	{0}};

static const cn_enum_value caring_parent_values[] = {{"father", "父亲", "father"},
						     {"mother", "母亲", "mother"},
						     {"both", "父母双方", "both"},
						     {0}};

static const cn_enum_value guardian_type_values[] = {
	{"parent", "父母", "parent"},
	{"grandparent", "祖父母外祖父母", "grandparent"},
	{"adult_sibling", "成年兄姐", "adult sibling"},
	{"other_relative", "其他亲属", "other relative"},
	{"entrusted", "受委托非亲属", "entrusted non-relative or friend"},
	{"designated", "乡镇指定监护人", "designated by the township"},
	{0}};

static const cn_enum_value ability_values[] = {
	{"able", "具备监护能力", "able"}, {"lacking", "不具备监护能力", "lacking"}, {0}};

static const cn_enum_value result_values[] = {
	{"good", "较好", "good"}, {"fair", "一般", "fair"}, {"poor", "差", "poor"}, {0}};

static const cn_enum_value mode_values[] = {{"caring", "关心式帮扶", "caring assistance"},
					    {"care", "关爱式帮扶", "care assistance"},
					    {"protective", "保护式帮扶", "protective assistance"},
					    {0}};

static const cn_enum_value visit_values[] = {
	{"party_cadre", "党员干部上门家访", "party cadre's home visit"},
	{"stationed_cadre", "驻村干部探访", "village-stationed cadre's visit"},
	{"social_worker", "专业社会工作者随访", "social worker's follow-up"},
	{0}};

static const cn_enum_value which_parent_values[] = {
	{"father", "父亲", "father"}, {"mother", "母亲", "mother"}, {0}};

static const cn_enum_value method_values[] = {{"phone", "电话", "phone"},
					      {"video", "视频", "video call"},
					      {"in_person", "见面", "in person"},
					      {"other", "其他", "other"},
					      {0}};

/* ---- kinds ---- */

#define TEXT(n, zh, en, req, fl, max)                                                              \
	{                                                                                          \
		n, CN_FT_TEXT, zh, en, req, fl, max, 0, 0, NULL                                    \
	}
#define ENUM(n, zh, en, req, fl, vals)                                                             \
	{                                                                                          \
		n, CN_FT_ENUM, zh, en, req, fl, 0, 0, 0, vals                                      \
	}
#define DATE(n, zh, en, req, fl)                                                                   \
	{                                                                                          \
		n, CN_FT_DATE, zh, en, req, fl, 0, 0, 0, NULL                                      \
	}
#define BOOL(n, zh, en, req, fl)                                                                   \
	{                                                                                          \
		n, CN_FT_BOOL, zh, en, req, fl, 0, 0, 0, NULL                                      \
	}
#define INT(n, zh, en, req, fl, lo, hi)                                                            \
	{                                                                                          \
		n, CN_FT_INT, zh, en, req, fl, 0, lo, hi, NULL                                     \
	}
#define TYPED(n, t, zh, en, req, fl)                                                               \
	{                                                                                          \
		n, t, zh, en, req, fl, 0, 0, 0, NULL                                               \
	}

static const cn_field_def child_fields[] = {
	TEXT("name", "姓名", "name", "R1.1", REQ, 32),
	ENUM("sex", "性别", "sex", "R1.1", REQ, sex_values),
	DATE("birth_date", "出生日期", "birth date", "R1.1", REQ),
	TYPED("id_number", CN_FT_IDNUM, "公民身份号码", "resident ID number (GB 11643)", "R1.1",
	      REQ | SEN),
	TEXT("household_address", "户籍地址", "household registration address", "R1.1", REQ | SEN,
	     128),
	TEXT("current_address", "现居住地址", "current address", "R1.1", SEN, 128),
	TYPED("village_code", CN_FT_DIVISION, "所在村（居）代码", "village code", "R1.1, R3.1",
	      REQ | SEN),
	TEXT("father_name", "父亲姓名", "father's name", "R1.1", 0, 32),
	ENUM("father_status", "父亲状况", "father's situation", "R1.1", SEN, parent_status_values),
	TEXT("father_work_place", "父亲务工地", "where the father works", "R1.1, R1.3", 0, 64),
	TYPED("father_phone", CN_FT_PHONE, "父亲联系电话", "father's phone", "R1.1, R2.5", 0),
	TEXT("mother_name", "母亲姓名", "mother's name", "R1.1", 0, 32),
	ENUM("mother_status", "母亲状况", "mother's situation", "R1.1", SEN, parent_status_values),
	TEXT("mother_work_place", "母亲务工地", "where the mother works", "R1.1, R1.3", 0, 64),
	TYPED("mother_phone", CN_FT_PHONE, "母亲联系电话", "mother's phone", "R1.1, R2.5", 0),
	BOOL("lives_alone", "是否单独居住", "lives alone without a guardian", "R2.1", SEN),
	ENUM("school_stage", "就学状况", "schooling", "R1.1, R9.2", 0, school_values),
	TEXT("school_name", "就读学校", "school", "R1.1, R9.2", 0, 64),
	TEXT("grade", "年级", "grade", "R1.1", 0, 16),
	ENUM("health", "健康状况", "health", "R1.1", 0, health_values),
	ENUM("disability", "残疾情况", "disability", "R1.1, R4", 0, disability_values),
	TEXT("health_note", "健康说明", "health notes", "R1.1", ML, 500),
	ENUM("relief", "低保特困情况", "dibao / tekun status", "R2.4, R9.1", 0, relief_values),
	TEXT("behaviour", "行为表现", "behaviour notes", "R1.1", ML, 500),
	BOOL("key_child", "重点对象", "key child (checked by home visits)", "R3.2, R7.2", 0),
	ENUM("status", "台账状态", "ledger status", "R1.2", REQ | SEN, status_values),
	ENUM("removal_reason", "移出原因", "reason for removal", "R1.2", SEN, removal_values),
	DATE("removal_date", "移出日期", "date removed", "R1.2", 0),
	ENUM("caring_parent", "返乡照料的父母", "parent who returned to care", "R1.2", 0,
	     caring_parent_values),
	TEXT("removal_note", "移出说明", "removal notes", "R1.2", ML, 200),
	TEXT("notes", "备注", "notes", "R1.1", ML, 500),
	/* last, so that databases of schema 2 gain it as their last column */
	TYPED("moved_from", CN_FT_DIVISION, "迁出村（居）代码",
	      "village the child moved from (set only by a move)", "R3.1", 0),
};

static const cn_field_def guardian_fields[] = {
	TYPED("child", CN_FT_RECORD, "儿童档案编号", "child record", "R2", REQ),
	ENUM("guardian_type", "监护类型", "who the guardian is", "R2", REQ | SEN,
	     guardian_type_values),
	TEXT("name", "监护人姓名", "guardian's name", "R2", REQ | SEN, 32),
	TEXT("relation", "与儿童关系", "relation to the child", "R2", REQ | SEN, 16),
	TYPED("id_number", CN_FT_IDNUM, "监护人公民身份号码", "guardian's resident ID", "R2", SEN),
	TYPED("phone", CN_FT_PHONE, "监护人联系电话", "guardian's phone", "R2", SEN),
	TEXT("address", "监护人住址", "guardian's address", "R2", SEN, 128),
	DATE("ability_eval_date", "监护能力评估日期",
	     "date of the village committee's ability evaluation", "R2.2", 0),
	ENUM("ability_eval_result", "监护能力评估结论", "ability evaluation result", "R2.2", SEN,
	     ability_values),
	TEXT("ability_evaluator", "评估人（村委会）", "evaluator (village committee)", "R2.2", 0,
	     32),
	DATE("consent_date", "村（居）委会同意日期", "village committee consent date", "R2.3", 0),
	DATE("agreement_date", "委托监护协议签订日期", "entrusted guardianship agreement signed",
	     "R2.3", SEN),
	TEXT("supervisor", "监督人", "supervisor of the agreement", "R2.3", 0, 32),
	DATE("township_filed_date", "乡镇备案日期", "filed at the township", "R2.3", 0),
	DATE("village_filed_date", "村（居）委会备案日期", "filed at the village committee", "R2.3",
	     0),
	DATE("designation_date", "乡镇指定日期", "designated by the township on", "R2.4", SEN),
	INT("monthly_pay", "监护报酬（元/月）", "guardianship pay, yuan per month", "R2.4", 0, 0,
	    100000),
	INT("subsidy", "监护补助（元/月）", "subsidy, yuan per month", "R2.4", 0, 0, 100000),
	TYPED("moved_from", CN_FT_DIVISION, "迁出村（居）代码",
	      "village the guardianship moved from with the child (set only by a move)", "R3.1", 0),
};

static const cn_field_def assessment_fields[] = {
	TYPED("child", CN_FT_RECORD, "儿童档案编号", "child record", "R7.1", REQ),
	DATE("date", "评估日期", "assessment date", "R7.2", REQ),
	TEXT("assessor", "评估人", "assessor", "R7.1", REQ, 32),
	TEXT("safety", "安全处境", "safety findings", "R7.1", REQ | ML, 500),
	TEXT("guardianship", "监护情况", "guardianship findings", "R7.1", REQ | ML, 500),
	TEXT("health", "身心健康状况", "physical and mental health findings", "R7.1", REQ | ML,
	     500),
	ENUM("result", "评估结果", "result", "R7.1", REQ, result_values),
	ENUM("mode", "帮扶方式", "assistance mode (derived from the result)", "R7.3", DER,
	     mode_values),
};

static const cn_field_def visit_fields[] = {
	TYPED("child", CN_FT_RECORD, "儿童档案编号", "child record", "R3.2", REQ),
	ENUM("visit_type", "走访方式", "visit type", "R3.2", REQ, visit_values),
	DATE("date", "走访日期", "visit date", "R3.2", REQ),
	TEXT("visitor", "走访人", "visitor", "R3.2", REQ, 32),
	TEXT("findings", "走访情况", "findings", "R3.2", REQ | ML, 1000),
};

static const cn_field_def contact_fields[] = {
	TYPED("child", CN_FT_RECORD, "儿童档案编号", "child record", "R2.5", REQ),
	DATE("date", "联系日期", "contact date", "R2.5", REQ),
	ENUM("parent", "联系的父母", "which parent", "R2.5", REQ, which_parent_values),
	ENUM("method", "联系方式", "how", "R2.5", REQ, method_values),
	TEXT("note", "联系内容", "what was said", "R2.5", ML, 500),
};

/* R5.1: who reports; R5.2: the seven situations */
static const cn_enum_value reporter_values[] = {
	{"school", "学校", "school"},
	{"kindergarten", "幼儿园", "kindergarten"},
	{"medical", "医疗机构", "medical institution"},
	{"village_committee", "村（居）委会", "village or residents' committee"},
	{"social_work", "社会工作服务机构", "social-work organisation"},
	{"relief", "救助管理机构", "relief agency"},
	{"welfare", "福利机构", "welfare institution"},
	{"citizen", "公民", "citizen"},
	{0}};

static const cn_enum_value situation_values[] = {
	{"living_alone", "脱离监护单独居住生活", "living alone without guardianship"},
	{"missing", "失踪", "missing"},
	{"guardian_incapable", "监护人丧失监护能力", "guardian has lost capacity"},
	{"guardian_neglect", "监护人不履行监护职责", "guardian not fulfilling duties"},
	{"domestic_violence", "疑似遭受家庭暴力", "suspected domestic violence"},
	{"accidental_injury", "疑似遭受意外伤害", "suspected accidental injury"},
	{"unlawful_harm", "疑似遭受不法侵害", "suspected unlawful infringement"},
	{0}};

static const cn_field_def report_fields[] = {
	TYPED("child", CN_FT_RECORD, "儿童档案编号", "child record", "R5", REQ),
	ENUM("reporter_type", "报告人类别", "who reports", "R5.1", REQ, reporter_values),
	TEXT("reporter", "报告人", "reporter (person and unit)", "R5.1", REQ | SEN, 64),
	ENUM("situation", "报告情形", "situation", "R5.2", REQ, situation_values),
	DATE("found_date", "发现日期", "found on", "R5.3", REQ),
	DATE("date", "报告日期", "reported on", "R5.3", REQ),
	TEXT("details", "情况说明", "what was found", "R5.2", REQ | ML | SEN, 1000),
};

/* R6.1-R6.3: the police's steps after a mandatory report, and the
 * township's acknowledgement of their notice */
static const cn_enum_value step_values[] = {
	{"accept", "受理报告", "accept the report (R6.1)"},
	{"dispatch", "出警", "go out to the child (R6.1)"},
	{"order_parents_back", "责令父母返回", "order the parents back"},
	{"appoint_entrusted", "落实委托监护人", "have an entrusted guardian appointed"},
	{"admonish", "训诫父母", "admonish the parents"},
	{"contact_parents", "联系父母返回或委托亲属", "contact the parents to return or entrust"},
	{"temporary_care", "护送临时照料", "escort to temporary care"},
	{"notify_parents", "通知父母", "notify the parents"},
	{"rapid_search", "快速查找", "rapid search"},
	{"stop_violence", "制止侵害", "stop the violence or harm"},
	{"shelter", "庇护安置", "shelter"},
	{"protect", "保护儿童", "protect the child"},
	{"evidence", "调查取证", "gather evidence"},
	{"medical_care", "医疗救治", "medical care"},
	{"injury_assessment", "伤情鉴定", "injury assessment"},
	{"notify_township", "通报乡镇政府", "notify the township government (R6.3)"},
	{"township_received", "乡镇接报", "the township received the notice (R6.3)"},
	{"close", "处置完毕", "response complete"},
	{0}};

static const cn_field_def response_fields[] = {
	TYPED("report", CN_FT_RECORD, "强制报告编号", "mandatory report record", "R6", REQ),
	TYPED("child", CN_FT_RECORD, "儿童档案编号", "child record", "R6", REQ),
	ENUM("step", "处置环节", "step", "R6.1, R6.2, R6.3", REQ, step_values),
	TYPED("at", CN_FT_TIME, "处置时间", "when (YYYY-MM-DD HH:MM)", "R6", REQ),
	TEXT("by", "处置人", "who (officer and unit)", "R6", REQ, 64),
	TEXT("place", "临时照料地点", "where the child was placed (temporary care, shelter)",
	     "R6.2", SEN, 128),
	TEXT("note", "处置情况", "what was done", "R6", ML | SEN, 1000),
};

/* R6, R10: the deadlines the county sets for each step, in hours */
static const cn_enum_value deadline_values[] = {
	{"accept", "受理报告", "accept a report"},
	{"dispatch", "出警", "go out to the child"},
	{"situation", "按情形处置", "the steps the situation requires (R6.2)"},
	{"urgent_situation", "紧急处置（查找、制止侵害）",
	 "rapid search, stopping violence (R6.2)"},
	{"notify_township", "通报乡镇政府", "notify the township (R6.3)"},
	{"township_received", "乡镇接报", "the township acknowledges (R6.3)"},
	{"hotline", "热线转办", "a hotline call handled (R11.2)"},
	{"hotline_urgent", "紧急热线转办", "a hotline call on an R5.2 situation"},
	{"school_return", "劝返复学", "bring a child back to school (R9.2)"},
	{"court_application", "申请撤销监护资格", "apply to the court (R8)"},
	{0}};

static const cn_field_def deadline_fields[] = {
	ENUM("item", "时限事项", "what the deadline is for", "R6, R10", REQ, deadline_values),
	INT("hours", "时限（小时）", "hours allowed", "R6, R10", REQ, 1, 24 * 366),
	TEXT("basis", "依据", "the county's decision it follows", "R10", 0, 128),
};

/* R5.3: a unit that knew and did not report */
static const cn_field_def unreported_fields[] = {
	TYPED("child", CN_FT_RECORD, "儿童档案编号", "child record", "R5.3", REQ),
	ENUM("unit_type", "单位类别", "kind of obliged unit", "R5.1", REQ, reporter_values),
	TEXT("unit", "知情未报单位", "the unit that knew", "R5.3", REQ | SEN, 64),
	TEXT("person", "责任人", "the person responsible", "R5.3, R10", SEN, 32),
	DATE("known_date", "知情日期", "known since", "R5.3", REQ),
	DATE("date", "登记日期", "recorded on", "R10", REQ),
	TEXT("details", "情况说明", "what happened", "R5.3", REQ | ML | SEN, 1000),
};

/* R7.3 targeted services and R9.1 relief, each with its provider */
static const cn_enum_value service_values[] = {
	{"guardianship_guidance", "监护指导", "guardianship guidance"},
	{"medical_treatment", "医疗救治", "medical treatment"},
	{"counselling", "心理疏导", "psychological counselling"},
	{"behaviour_correction", "行为矫治", "behaviour correction"},
	{"legal_services", "法治教育与法律服务", "legal services"},
	{"legal_aid", "法律援助", "legal aid"},
	{"social_assistance", "社会救助", "social assistance (R9.1)"},
	{"temporary_assistance", "临时救助", "temporary assistance (R9.1)"},
	{"medical_assistance", "医疗救助", "medical assistance (R9.1)"},
	{"family_education", "家庭教育指导", "family education (R4)"},
	{"rehabilitation", "康复服务", "rehabilitation (R4)"},
	{"other", "其他", "other"},
	{0}};

static const cn_enum_value provider_values[] = {
	{"civil_affairs", "民政", "civil affairs"},
	{"education", "教育", "education"},
	{"police", "公安", "police"},
	{"justice", "司法", "justice"},
	{"hrss", "人社", "human resources and social security"},
	{"health", "卫健", "health"},
	{"poverty", "扶贫办", "poverty alleviation"},
	{"youth_league", "共青团", "Youth League"},
	{"women", "妇联", "Women's Federation"},
	{"disabled", "残联", "Disabled Persons' Federation"},
	{"township", "乡镇政府", "township government"},
	{"village", "村（居）委会", "village committee"},
	{"social_org", "社会组织", "social organisation"},
	{0}};

static const cn_enum_value service_status_values[] = {{"planned", "计划", "planned"},
						      {"ongoing", "实施中", "under way"},
						      {"done", "已完成", "done"},
						      {"stopped", "已终止", "stopped"},
						      {0}};

static const cn_field_def service_fields[] = {
	TYPED("child", CN_FT_RECORD, "儿童档案编号", "child record", "R7.3", REQ),
	ENUM("service", "服务项目", "service", "R7.3, R9.1", REQ, service_values),
	ENUM("provider_type", "提供方类别", "provider kind", "R4, R7.3", REQ, provider_values),
	TEXT("provider", "服务提供方", "provider (unit or organisation)", "R4, R7.3", REQ, 64),
	ENUM("service_status", "服务状态", "status", "R7.3", REQ, service_status_values),
	DATE("start_date", "开始日期", "started on", "R7.3", 0),
	DATE("follow_up", "跟进日期", "follow up on", "R7.3, R10", 0),
	INT("amount", "救助金额（元）", "relief amount, yuan", "R9.1", 0, 0, 10000000),
	TEXT("note", "服务情况", "notes", "R7.3", ML | SEN, 500),
};

/* R8: guardianship intervention */
static const cn_enum_value incident_values[] = {{"violence", "家庭暴力", "violence"},
						{"abuse", "虐待", "abuse"},
						{"abandonment", "遗弃", "abandonment"},
						{0}};

static const cn_enum_value applicant_values[] = {
	{"relative", "近亲属", "a relative"},
	{"village_committee", "村（居）委会", "the village committee"},
	{"township", "乡镇政府", "the township"},
	{"civil_affairs", "县民政部门", "county civil affairs"},
	{0}};

static const cn_enum_value outcome_values[] = {
	{"revoked", "撤销监护人资格", "guardianship revoked"},
	{"rejected", "驳回申请", "application rejected"},
	{"withdrawn", "撤回申请", "application withdrawn"},
	{0}};

static const cn_enum_value case_status_values[] = {
	{"open", "处理中", "open"}, {"closed", "已结案", "closed"}, {0}};

static const cn_field_def intervention_fields[] = {
	TYPED("child", CN_FT_RECORD, "儿童档案编号", "child record", "R8", REQ),
	ENUM("incident", "侵害类型", "what the guardian did", "R8", REQ | SEN, incident_values),
	DATE("incident_date", "最近一次发生日期", "latest incident on", "R8", REQ),
	INT("incidents", "发生次数", "incidents recorded", "R8", 0, 1, 1000),
	TEXT("police_action", "公安处置情况", "police actions", "R8", ML | SEN, 500),
	DATE("duties_refused_since", "拒不履行监护职责起始日期",
	     "the guardian has refused the duties since", "R8", SEN),
	BOOL("danger_no_reform", "置于危困且拒不改正", "left in danger and will not reform", "R8",
	     SEN),
	BOOL("serious_harm", "严重损害身心健康", "seriously harmed the child", "R8", SEN),
	ENUM("applicant", "申请人", "who applies to the court", "R8", 0, applicant_values),
	DATE("court_applied", "向法院申请日期", "applied to the court on", "R8", 0),
	TEXT("court", "受理法院", "court", "R8", 0, 64),
	ENUM("outcome", "法院裁判结果", "the court's decision", "R8", SEN, outcome_values),
	DATE("outcome_date", "裁判日期", "decided on", "R8", 0),
	ENUM("case_status", "案件状态", "case status", "R8", REQ, case_status_values),
};

/* R9.2: schooling changes */
static const cn_enum_value school_event_values[] = {
	{"enrolled", "入学", "enrolled"},   {"transferred", "转学", "changed school"},
	{"dropout", "辍学", "dropped out"}, {"out_of_school", "失学", "out of school"},
	{"truancy", "逃学", "truancy"},     {"returned", "复学", "back at school"},
	{"graduated", "毕业", "finished"},  {0}};

static const cn_field_def schooling_fields[] = {
	TYPED("child", CN_FT_RECORD, "儿童档案编号", "child record", "R9.2", REQ),
	ENUM("event", "学籍变动", "what happened", "R9.2", REQ, school_event_values),
	DATE("date", "日期", "on", "R9.2", REQ),
	TEXT("school", "学校", "school", "R9.2", REQ, 64),
	DATE("guardian_notified", "通知家长或监护人日期", "parents or guardian notified on", "R9.2",
	     0),
	TEXT("note", "情况说明", "notes", "R9.2", ML | SEN, 500),
};

/* R11.2: the care hotline */
static const cn_enum_value call_status_values[] = {
	{"open", "待办", "to be handled"}, {"handled", "已办结", "handled"}, {0}};

static const cn_field_def hotline_fields[] = {
	TYPED("call_at", CN_FT_TIME, "来电时间", "call received at", "R11.2", REQ),
	TEXT("caller", "来电人", "caller", "R11.2", REQ | SEN, 32),
	TYPED("caller_phone", CN_FT_PHONE, "来电号码", "caller's phone", "R11.2", SEN),
	TYPED("village_code", CN_FT_DIVISION, "所涉村（居）代码", "village concerned", "R11.2",
	      REQ),
	TYPED("child", CN_FT_RECORD, "儿童档案编号", "child record, when known", "R11.2", 0),
	ENUM("situation", "涉及强制报告情形", "an R5.2 situation it describes (urgent)", "R5.2", 0,
	     situation_values),
	TEXT("content", "来电内容", "what the caller asked", "R11.2", REQ | ML | SEN, 1000),
	TEXT("taken_by", "接听人", "taken by", "R11.2", REQ, 32),
	ENUM("call_status", "办理状态", "status", "R11.2", REQ, call_status_values),
	TEXT("handled_by", "办理人", "handled by", "R11.2, R10", 0, 32),
	TYPED("handled_at", CN_FT_TIME, "办结时间", "handled at", "R11.2, R10", 0),
	TEXT("handling", "办理情况", "what was done", "R11.2", ML | SEN, 1000),
};

/* R10, R11.1: the people who use the system, each with a role and a unit
 * (accounts.h keeps their passwords, on each node, never replicated) */
static const cn_enum_value person_role_values[] = {
	{"liaison", "村关爱联络员", "village care liaison"},
	{"committee", "村（居）委会", "village committee"},
	{"officer", "乡镇专干", "township professional officer"},
	{"civil_affairs", "县民政", "county civil affairs"},
	{"department", "部门工作人员", "department staff"},
	{"school", "学校报告人", "school reporter"},
	{"clinic", "医疗机构报告人", "clinic reporter"},
	{0}};

static const cn_enum_value person_status_values[] = {
	{"active", "在用", "active"}, {"disabled", "已停用", "disabled"}, {0}};

static const cn_field_def person_fields[] = {
	TEXT("login", "登录名", "login", "R10", REQ, 32),
	TEXT("name", "姓名", "name", "R10", REQ | SEN, 32),
	ENUM("role", "角色", "role", "R3, R4, R5.1", REQ | SEN, person_role_values),
	TEXT("unit", "所在单位区划代码", "unit (12-digit division code)", "R3.1", REQ, 12),
	ENUM("status", "状态", "status", "R10", REQ | SEN, person_status_values),
	TYPED("phone", CN_FT_PHONE, "联系电话", "phone", "R10", SEN),
};

static const cn_field_def cert_fields[] = {
	TYPED("chain", CN_FT_CHAIN, "证书链", "certificate chain, leaf first", "R11.1", REQ),
};

static const cn_field_def revocation_fields[] = {
	TYPED("revocation", CN_FT_REVOKE, "吊销记录", "signed revocation", "R11.1", REQ),
};

static const cn_kind_def kinds[] = {
	{"child", "儿童档案", "child's file", "R1", false, child_fields, N(child_fields)},
	{"guardian", "监护情况", "guardianship", "R2", false, guardian_fields, N(guardian_fields)},
	{"assessment", "评估记录", "assessment", "R7", true, assessment_fields,
	 N(assessment_fields)},
	{"visit", "走访记录", "visit", "R3.2", true, visit_fields, N(visit_fields)},
	{"contact", "亲情联系记录", "parents' contact", "R2.5", true, contact_fields,
	 N(contact_fields)},
	{"report", "强制报告", "mandatory report", "R5", true, report_fields, N(report_fields)},
	{"response", "应急处置", "emergency response step", "R6", true, response_fields,
	 N(response_fields)},
	{"unreported", "知情不报", "a unit that knew and did not report", "R5.3", true,
	 unreported_fields, N(unreported_fields)},
	{"service", "帮扶服务", "assistance service", "R7.3, R9.1", false, service_fields,
	 N(service_fields)},
	{"intervention", "监护干预", "guardianship intervention case", "R8", false,
	 intervention_fields, N(intervention_fields)},
	{"schooling", "学籍变动", "schooling change", "R9.2", true, schooling_fields,
	 N(schooling_fields)},
	{"hotline", "热线来电", "care hotline call", "R11.2", false, hotline_fields,
	 N(hotline_fields)},
	{"person", "用户", "a person who uses the system", "R10", false, person_fields,
	 N(person_fields)},
	/* shared reference data: every node receives them (scope.h) */
	{"cert", "节点证书", "node certificate", "R11.1", false, cert_fields, N(cert_fields)},
	{"revocation", "证书吊销", "certificate revocation", "R11.1", true, revocation_fields,
	 N(revocation_fields)},
	{"deadline", "处置时限", "deadline set by the county", "R6, R10", false, deadline_fields,
	 N(deadline_fields)},
};

const cn_kind_def *cn_model_kinds(size_t *n)
{
	*n = N(kinds);
	return kinds;
}

const cn_kind_def *cn_model_kind(const char *name, size_t len)
{
	for (size_t i = 0; i < N(kinds); i++)
		if (strlen(kinds[i].name) == len && !memcmp(kinds[i].name, name, len))
			return &kinds[i];
	return NULL;
}

const cn_field_def *cn_model_field(const cn_kind_def *k, const char *name, size_t len)
{
	for (size_t i = 0; i < k->n_fields; i++)
		if (strlen(k->fields[i].name) == len && !memcmp(k->fields[i].name, name, len))
			return &k->fields[i];
	return NULL;
}

static const cn_enum_value *enum_find(const cn_field_def *f, const char *s, size_t len)
{
	for (const cn_enum_value *v = f->values; v && v->code; v++)
		if (strlen(v->code) == len && !memcmp(v->code, s, len))
			return v;
	return NULL;
}

const char *cn_model_enum_zh(const cn_field_def *f, const char *code)
{
	const cn_enum_value *v = code ? enum_find(f, code, strlen(code)) : NULL;

	return v ? v->zh : code;
}

const char *cn_model_enum_en(const cn_field_def *f, const char *code)
{
	const cn_enum_value *v = code ? enum_find(f, code, strlen(code)) : NULL;

	return v ? v->en : code;
}

const char *cn_model_assistance_mode(const char *result)
{
	if (!result)
		return NULL;
	if (!strcmp(result, "good"))
		return "caring";
	if (!strcmp(result, "fair"))
		return "care";
	if (!strcmp(result, "poor"))
		return "protective";
	return NULL;
}

/* ---- dates ---- */

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

static bool ymd_valid(int y, int m, int d)
{
	return y >= 1900 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/* Writes "YYYY-MM-DD" for a date already known to be valid. */
static void ymd_format(int y, int m, int d, char out[11])
{
	out[0] = (char)('0' + y / 1000 % 10);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = 0;
}

bool cn_model_date_valid(const char *s, size_t len)
{
	int y, m, d;

	if (len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return false;
	y = atoi(s);
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	return ymd_valid(y, m, d);
}

void cn_model_date_today(uint64_t now_ms, char out[11])
{
	time_t t = (time_t)(now_ms / 1000) + 8 * 3600; /* China Standard Time */
	struct tm tm;

	gmtime_r(&t, &tm);
	ymd_format(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, out);
}

int cn_model_age_on(const char *birth, const char *date)
{
	int by = atoi(birth), dy = atoi(date);
	int age = dy - by;

	/* not yet had this year's birthday: compare "MM-DD" */
	if (strcmp(date + 5, birth + 5) < 0)
		age--;
	return age;
}

/* Accepts 2024-03-01, 2024-3-1, 2024/3/1, 2024.3.1, 2024年3月1日, 20240301. */
static bool date_normalize(const char *in, char out[11])
{
	int y = 0, m = 0, d = 0, n = 0;
	size_t len = strlen(in);

	if (len == 8 && strspn(in, "0123456789") == 8) {
		y = (in[0] - '0') * 1000 + (in[1] - '0') * 100 + (in[2] - '0') * 10 + (in[3] - '0');
		m = (in[4] - '0') * 10 + (in[5] - '0');
		d = (in[6] - '0') * 10 + (in[7] - '0');
	} else if (sscanf(in, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 ||
		   sscanf(in, "%4d/%2d/%2d%n", &y, &m, &d, &n) == 3 ||
		   sscanf(in, "%4d.%2d.%2d%n", &y, &m, &d, &n) == 3 ||
		   sscanf(in, "%4d年%2d月%2d日%n", &y, &m, &d, &n) == 3) {
		if ((size_t)n != len)
			return false;
		/* sscanf's %d takes signs and spaces; insist on plain digits */
		for (size_t i = 0; i < len; i++)
			if (in[i] == '+' || in[i] == ' ' ||
			    (in[i] == '-' && (i == 0 || in[i + 1] == '-')))
				return false;
	} else {
		return false;
	}
	if (!ymd_valid(y, m, d))
		return false;
	ymd_format(y, m, d, out);
	return true;
}

/* ---- times of day (R6: deadlines in hours) ---- */

bool cn_model_time_valid(const char *s, size_t len)
{
	if (len != 16 || !cn_model_date_valid(s, 10) || s[10] != ' ' || s[13] != ':')
		return false;
	for (size_t i = 11; i < 16; i++)
		if (i != 13 && !isdigit((unsigned char)s[i]))
			return false;
	return (s[11] - '0') * 10 + (s[12] - '0') < 24 && (s[14] - '0') * 10 + (s[15] - '0') < 60;
}

void cn_model_time_now(uint64_t now_ms, char out[17])
{
	time_t t = (time_t)(now_ms / 1000) + 8 * 3600; /* China Standard Time */
	struct tm tm;

	gmtime_r(&t, &tm);
	ymd_format(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, out);
	out[10] = ' ';
	out[11] = (char)('0' + tm.tm_hour / 10);
	out[12] = (char)('0' + tm.tm_hour % 10);
	out[13] = ':';
	out[14] = (char)('0' + tm.tm_min / 10);
	out[15] = (char)('0' + tm.tm_min % 10);
	out[16] = 0;
}

uint64_t cn_model_time_ms(const char *s)
{
	struct tm tm = {0};
	size_t len = s ? strlen(s) : 0;
	time_t t;

	if (!(len == 10 && cn_model_date_valid(s, 10)) && !cn_model_time_valid(s, len))
		return 0;
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = (s[5] - '0') * 10 + (s[6] - '0') - 1;
	tm.tm_mday = (s[8] - '0') * 10 + (s[9] - '0');
	if (len == 16) {
		tm.tm_hour = (s[11] - '0') * 10 + (s[12] - '0');
		tm.tm_min = (s[14] - '0') * 10 + (s[15] - '0');
	}
	t = timegm(&tm) - 8 * 3600;
	return t > 0 ? (uint64_t)t * 1000 : 0;
}

/* Accepts a date as date_normalize does, a space or T, and H:MM or HH:MM;
 * "now" and "现在" are the time now. */
static bool time_normalize(const char *in, uint64_t now_ms, char out[17])
{
	char date[64], day[11];
	const char *sep = strpbrk(in, " T");
	int h, m, n = 0;

	if (!strcmp(in, "now") || !strcmp(in, "现在")) {
		cn_model_time_now(now_ms, out);
		return true;
	}
	if (!sep || (size_t)(sep - in) >= sizeof(date))
		return false;
	memcpy(date, in, (size_t)(sep - in));
	date[sep - in] = 0;
	if (!date_normalize(date, day))
		return false;
	sep += strspn(sep, " T");
	if (sscanf(sep, "%2d:%2d%n", &h, &m, &n) != 2 || sep[n] || !isdigit((unsigned char)*sep) ||
	    h < 0 || h > 23 || m < 0 || m > 59 || !isdigit((unsigned char)sep[n - 1]) ||
	    !isdigit((unsigned char)sep[n - 2]))
		return false;
	memcpy(out, day, 10);
	out[10] = ' ';
	out[11] = (char)('0' + h / 10);
	out[12] = (char)('0' + h % 10);
	out[13] = ':';
	out[14] = (char)('0' + m / 10);
	out[15] = (char)('0' + m % 10);
	out[16] = 0;
	return true;
}

/* ---- resident ID (GB 11643-1999) ---- */

char cn_model_idnum_check_char(const char *first17)
{
	static const int weight[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	static const char check[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
	int sum = 0;

	for (int i = 0; i < 17; i++)
		sum += (first17[i] - '0') * weight[i];
	return check[sum % 11];
}

cn_err cn_model_check_idnum(const char *id, uint64_t today_ms, char birth[11], bool *male,
			    cn_diag *diag)
{
	size_t len = strlen(id);
	char date[11], today[11];
	char want;
	int prov;

	if (len != 18) {
		cn_diag_set(diag,
			    "公民身份号码应为18位，实际为%zu位 / resident ID must have 18 "
			    "characters, has %zu",
			    len, len);
		return CN_ERR_INVALID;
	}
	for (int i = 0; i < 17; i++) {
		if (!isdigit((unsigned char)id[i])) {
			cn_diag_set(diag,
				    "公民身份号码第%d位不是数字 / resident ID character %d is not "
				    "a digit",
				    i + 1, i + 1);
			return CN_ERR_INVALID;
		}
	}
	if (!isdigit((unsigned char)id[17]) && id[17] != 'X') {
		cn_diag_set(diag, "公民身份号码校验位应为数字或大写X / resident ID check character "
				  "must be a digit or X");
		return CN_ERR_INVALID;
	}
	prov = (id[0] - '0') * 10 + (id[1] - '0');
	if (prov < 11 || prov > 82) {
		cn_diag_set(diag,
			    "公民身份号码地址码“%.6s”无效 / resident ID region code %.6s is not a "
			    "region",
			    id, id);
		return CN_ERR_INVALID;
	}
	memcpy(date, id + 6, 4);
	date[4] = '-';
	memcpy(date + 5, id + 10, 2);
	date[7] = '-';
	memcpy(date + 8, id + 12, 2);
	date[10] = 0;
	if (!cn_model_date_valid(date, 10)) {
		cn_diag_set(diag,
			    "公民身份号码中的出生日期“%.8s”不是有效日期 / resident ID birth date "
			    "%.8s is not a real date",
			    id + 6, id + 6);
		return CN_ERR_INVALID;
	}
	cn_model_date_today(today_ms, today);
	if (strcmp(date, today) > 0) {
		cn_diag_set(diag,
			    "公民身份号码中的出生日期 %s 晚于今天 / resident ID birth date %s is "
			    "in the future",
			    date, date);
		return CN_ERR_INVALID;
	}
	want = cn_model_idnum_check_char(id);
	if (want != id[17]) {
		cn_diag_set(diag,
			    "公民身份号码校验位错误（应为%c）/ resident ID check digit is wrong "
			    "(expected %c)",
			    want, want);
		return CN_ERR_INVALID;
	}
	if (birth)
		memcpy(birth, date, 11);
	if (male)
		*male = (id[16] - '0') % 2 == 1;
	return CN_OK;
}

/* ---- values ---- */

/* Counts UTF-8 characters; the string is valid UTF-8. */
static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

static bool text_ok(const cn_field_def *f, const char *s, size_t len, const char **why)
{
	if (!cn_utf8_valid(s, len)) {
		*why = "不是有效的UTF-8文本 / not valid UTF-8 text";
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && !(c == '\n' && (f->flags & CN_FIELD_MULTILINE))) || c == 0x7f) {
			*why = "含有控制字符 / contains a control character";
			return false;
		}
	}
	if (f->max_chars && utf8_chars(s, len) > f->max_chars) {
		*why = "过长 / too long";
		return false;
	}
	return true;
}

/* s[0..len) is all ASCII digits (s need not be NUL-terminated). */
static bool digits_only(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool phone_ok(const char *s, size_t len)
{
	size_t digits = 0;

	if (len < 5 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (isdigit((unsigned char)s[i]))
			digits++;
		else if (!(s[i] == '-' || s[i] == ' ' || (s[i] == '+' && i == 0)))
			return false;
	}
	return digits >= 5;
}

static bool record_ok(const char *s, size_t len)
{
	uint8_t b[CN_RECORD_BYTES];

	if (len != 2 * CN_RECORD_BYTES)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return cn_unhex(s, len, b, sizeof(b));
}

/* Certificates and revocations travel as lowercase hex of their signed
 * bytes; the value must decode and its signatures verify. */
static const char *signed_hex_rule(cn_field_type t, const char *s, size_t len)
{
	uint8_t bytes[CN_VALUE_MAX / 2];
	cn_cert certs[CN_CHAIN_MAX];
	cn_revocation rv;
	size_t n;

	if (len % 2 || len / 2 > sizeof(bytes))
		return "应为十六进制 / must be hex";
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return "应为小写十六进制 / must be lowercase hex";
	if (!cn_unhex(s, len, bytes, len / 2))
		return "应为十六进制 / must be hex";
	if (t == CN_FT_CHAIN)
		return cn_cert_chain_decode(bytes, len / 2, certs, NULL, NULL, &n, NULL)
			       ? "证书链无效 / not a valid certificate chain"
			       : NULL;
	return cn_revocation_decode(bytes, len / 2, &rv, NULL)
		       ? "吊销记录无效 / not a valid revocation"
		       : NULL;
}

cn_err cn_model_check_value(const cn_field_def *f, const cn_val *v, cn_diag *diag)
{
	const char *why = NULL;
	char tmp[CN_VALUE_MAX + 1];
	cn_diag inner = {{0}};

	if (v->type == CN_VAL_NIL) {
		if (f->flags & CN_FIELD_REQUIRED)
			why = "必填项不能清空 / a required field cannot be cleared";
		goto done;
	}
	switch (f->type) {
	case CN_FT_BOOL:
		if (v->type != CN_VAL_BOOL)
			why = "应为是/否 / must be true or false";
		break;
	case CN_FT_INT:
		if (v->type != CN_VAL_INT)
			why = "应为整数 / must be a whole number";
		else if (v->i < f->min || v->i > f->max)
			why = "超出允许范围 / out of range";
		break;
	default:
		if (v->type != CN_VAL_STR) {
			why = "应为文本 / must be text";
			break;
		}
		if (v->len == 0 || v->len > CN_VALUE_MAX) {
			why = v->len ? "过长 / too long" : "不能为空字符串 / must not be empty";
			break;
		}
		switch (f->type) {
		case CN_FT_TEXT:
			if (!text_ok(f, v->s, v->len, &why))
				break;
			if (isspace((unsigned char)v->s[0]) ||
			    isspace((unsigned char)v->s[v->len - 1]))
				why = "首尾不能有空白 / must not start or end with white space";
			break;
		case CN_FT_ENUM:
			if (!enum_find(f, v->s, v->len))
				why = "不是允许的取值 / not one of the allowed values";
			break;
		case CN_FT_DATE:
			if (!cn_model_date_valid(v->s, v->len))
				why = "应为有效日期 YYYY-MM-DD / must be a real date YYYY-MM-DD";
			break;
		case CN_FT_TIME:
			if (!cn_model_time_valid(v->s, v->len))
				why = "应为有效时间 YYYY-MM-DD HH:MM / must be a real time "
				      "YYYY-MM-DD HH:MM";
			break;
		case CN_FT_IDNUM:
			memcpy(tmp, v->s, v->len);
			tmp[v->len] = 0;
			/* stateless: only the far future bounds the birth date */
			if (cn_model_check_idnum(tmp, UINT64_C(253402214400000), NULL, NULL,
						 &inner))
				why = inner.text;
			break;
		case CN_FT_DIVISION:
			if (v->len != 12 || !digits_only(v->s, v->len))
				why = "应为12位区划代码 / must be a 12-digit division code";
			break;
		case CN_FT_PHONE:
			if (!phone_ok(v->s, v->len))
				why = "电话号码格式错误 / not a phone number";
			break;
		case CN_FT_RECORD:
			if (!record_ok(v->s, v->len))
				why = "应为32位小写十六进制档案编号 / must be a 32-hex-digit "
				      "record id";
			break;
		case CN_FT_CHAIN:
		case CN_FT_REVOKE: why = signed_hex_rule(f->type, v->s, v->len); break;
		default: why = "未知字段类型 / unknown field type";
		}
	}
done:
	if (why) {
		cn_diag_set(diag, "字段“%s”(%s)：%s", f->zh, f->name, why);
		return CN_ERR_INVALID;
	}
	return CN_OK;
}

cn_err cn_model_check_change(const cn_change *c, cn_diag *diag)
{
	const cn_kind_def *k = cn_model_kind(c->kind, c->kind_len);
	bool create = c->n_base == 0;
	cn_err err;

	if (!k) {
		cn_diag_set(diag, "未知的记录类型“%.*s” / unknown record kind", (int)c->kind_len,
			    c->kind);
		return CN_ERR_INVALID;
	}
	if (k->event && !create) {
		cn_diag_set(diag, "%s是只增记录，不能修改 / %s records are append-only", k->zh,
			    k->name);
		return CN_ERR_INVALID;
	}
	if (c->n_fields == 0) {
		cn_diag_set(diag, "%s变更没有任何字段 / a %s change sets no field", k->zh, k->name);
		return CN_ERR_INVALID;
	}
	for (uint32_t i = 0; i < c->n_fields; i++) {
		const cn_field *fv = &c->fields[i];
		const cn_field_def *f = cn_model_field(k, fv->name, fv->name_len);
		if (!f) {
			cn_diag_set(diag, "%s没有字段“%.*s” / %s has no field %.*s", k->zh,
				    (int)fv->name_len, fv->name, k->name, (int)fv->name_len,
				    fv->name);
			return CN_ERR_INVALID;
		}
		if (f->flags & CN_FIELD_DERIVED) {
			cn_diag_set(diag,
				    "字段“%s”由系统计算，不能写入 / %s is derived, not written",
				    f->zh, f->name);
			return CN_ERR_INVALID;
		}
		err = cn_model_check_value(f, &fv->val, diag);
		if (err)
			return err;
	}
	/* a child's file lives where its village is: the change that sets the
	 * village code is placed at that village (jurisdiction follows it) */
	if (!strcmp(k->name, "child")) {
		const cn_field *vc = cn_change_field(c, "village_code");
		if (vc && vc->val.type == CN_VAL_STR &&
		    (vc->val.len != CN_DIVISION_LEN ||
		     memcmp(vc->val.s, c->division, CN_DIVISION_LEN) != 0)) {
			cn_diag_set(diag,
				    "所在村（居）代码与变更所在区划 %s 不一致 / village_code "
				    "differs from "
				    "the change's division %s",
				    c->division, c->division);
			return CN_ERR_INVALID;
		}
	}
	/* a move names where the record came from; the author must hold that
	 * place too (scope.c), and it is never where the record goes */
	{
		const cn_field *mf = cn_change_field(c, "moved_from");
		if (mf && mf->val.type == CN_VAL_STR) {
			if (!strcmp(k->name, "child") && !cn_change_field(c, "village_code")) {
				cn_diag_set(diag, "迁出村代码只能与新的所在村代码一起写入 / "
						  "moved_from is written only with the new "
						  "village_code");
				return CN_ERR_INVALID;
			}
			if (mf->val.len == CN_DIVISION_LEN &&
			    !memcmp(mf->val.s, c->division, CN_DIVISION_LEN)) {
				cn_diag_set(diag, "迁出村与迁入村相同 / a move must go to "
						  "another village");
				return CN_ERR_INVALID;
			}
			if (create) {
				cn_diag_set(diag, "迁移只能针对已有档案 / only an existing "
						  "record can move");
				return CN_ERR_INVALID;
			}
		}
	}
	if (create) {
		for (size_t i = 0; i < k->n_fields; i++) {
			const cn_field_def *f = &k->fields[i];
			if ((f->flags & CN_FIELD_REQUIRED) && !cn_change_field(c, f->name)) {
				cn_diag_set(diag,
					    "缺少必填项“%s”(%s) / required field %s is missing",
					    f->zh, f->name, f->name);
				return CN_ERR_INVALID;
			}
		}
	}
	return CN_OK;
}

/* ---- parsing what people type ---- */

static void trim(const char *in, const char **s, size_t *len)
{
	size_t n = strlen(in);

	/* ASCII white space and the full-width space (U+3000), common in
	 * Chinese spreadsheets, in any mix */
	for (;;) {
		if (n && isspace((unsigned char)*in)) {
			in++;
			n--;
		} else if (n >= 3 && !memcmp(in, "\xe3\x80\x80", 3)) {
			in += 3;
			n -= 3;
		} else {
			break;
		}
	}
	for (;;) {
		if (n && isspace((unsigned char)in[n - 1]))
			n--;
		else if (n >= 3 && !memcmp(in + n - 3, "\xe3\x80\x80", 3))
			n -= 3;
		else
			break;
	}
	*s = in;
	*len = n;
}

static bool bool_parse(const char *s, bool *out)
{
	static const char *const yes[] = {"是", "yes", "y", "true", "1", "有"};
	static const char *const no[] = {"否", "no", "n", "false", "0", "无"};

	for (size_t i = 0; i < N(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

cn_err cn_model_parse(const cn_model_ctx *ctx, const cn_field_def *f, const char *input,
		      cn_model_value *out, cn_diag *diag)
{
	const char *s;
	size_t len;
	char *b = out->buf;
	char today[11];

	memset(&out->val, 0, sizeof(out->val));
	trim(input, &s, &len);
	if (len == 0) {
		out->val.type = CN_VAL_NIL;
		return cn_model_check_value(f, &out->val, diag);
	}
	if (len > CN_VALUE_MAX) {
		cn_diag_set(diag, "字段“%s”(%s)：过长（%zu字节）/ too long (%zu bytes)", f->zh,
			    f->name, len, len);
		return CN_ERR_INVALID;
	}
	memcpy(b, s, len);
	b[len] = 0;
	out->val.type = CN_VAL_STR;
	out->val.s = b;
	out->val.len = (uint32_t)len;
	switch (f->type) {
	case CN_FT_BOOL:
		out->val.type = CN_VAL_BOOL;
		if (!bool_parse(b, &out->val.b)) {
			cn_diag_set(diag,
				    "字段“%s”(%s)：应填“是”或“否”，而不是“%s” / must be yes or no",
				    f->zh, f->name, b);
			return CN_ERR_INVALID;
		}
		break;
	case CN_FT_INT: {
		char *end;
		long long v = strtoll(b, &end, 10);
		if (*end || end == b) {
			cn_diag_set(diag, "字段“%s”(%s)：“%s”不是整数 / not a whole number", f->zh,
				    f->name, b);
			return CN_ERR_INVALID;
		}
		out->val.type = CN_VAL_INT;
		out->val.i = v;
		break;
	}
	case CN_FT_ENUM:
		for (const cn_enum_value *v = f->values; v->code; v++) {
			if (!strcmp(b, v->code) || !strcmp(b, v->zh)) {
				out->val.s = v->code;
				out->val.len = (uint32_t)strlen(v->code);
				return CN_OK;
			}
		}
		{
			char allowed[512] = "";
			for (const cn_enum_value *v = f->values; v->code; v++) {
				size_t used = strlen(allowed);
				snprintf(allowed + used, sizeof(allowed) - used, "%s%s(%s)",
					 used ? "、" : "", v->zh, v->code);
			}
			cn_diag_set(
				diag,
				"字段“%s”(%s)：“%s”不是允许的取值，可选：%s / not an allowed value",
				f->zh, f->name, b, allowed);
		}
		return CN_ERR_INVALID;
	case CN_FT_DATE:
		if (!date_normalize(b, b)) {
			cn_diag_set(diag,
				    "字段“%s”(%s)：“%.*s”不是有效日期（格式 2024-03-01）/ not a "
				    "real date (use 2024-03-01)",
				    f->zh, f->name, (int)len, s);
			return CN_ERR_INVALID;
		}
		out->val.len = 10;
		cn_model_date_today(ctx->now_ms, today);
		if (strcmp(b, today) > 0) {
			cn_diag_set(diag,
				    "字段“%s”(%s)：日期 %s 晚于今天 %s / date %s is in the future",
				    f->zh, f->name, b, today, b);
			return CN_ERR_INVALID;
		}
		break;
	case CN_FT_TIME: {
		char now[17];
		if (!time_normalize(b, ctx->now_ms, b)) {
			cn_diag_set(diag,
				    "字段“%s”(%s)：“%.*s”不是有效时间（格式 2024-03-01 14:30，或 "
				    "now）/ not a real time (use 2024-03-01 14:30, or now)",
				    f->zh, f->name, (int)len, s);
			return CN_ERR_INVALID;
		}
		out->val.len = 16;
		/* five minutes of grace for a clock a little behind */
		cn_model_time_now(ctx->now_ms + 5 * 60 * 1000, now);
		if (strcmp(b, now) > 0) {
			cn_diag_set(diag,
				    "字段“%s”(%s)：时间 %s 晚于现在 / time %s is in the future",
				    f->zh, f->name, b, b);
			return CN_ERR_INVALID;
		}
		break;
	}
	case CN_FT_IDNUM: {
		cn_diag why = {{0}};
		if (b[len - 1] == 'x')
			b[len - 1] = 'X'; /* people type a lowercase x */
		if (cn_model_check_idnum(b, ctx->now_ms, NULL, NULL, &why)) {
			cn_diag_set(diag, "字段“%s”(%s)：%s", f->zh, f->name, why.text);
			return CN_ERR_INVALID;
		}
		break;
	}
	case CN_FT_DIVISION: {
		const cn_division *d = ctx->divs ? cn_divisions_find(ctx->divs, b) : NULL;
		if (!d) {
			cn_diag_set(diag,
				    "字段“%s”(%s)：区划代码“%s”不在利津县区划表中 / unknown "
				    "division code %s",
				    f->zh, f->name, b, b);
			return CN_ERR_INVALID;
		}
		if (d->level != CN_LEVEL_VILLAGE) {
			cn_diag_set(diag,
				    "字段“%s”(%s)：“%s”（%s）不是村（居）级代码 / %s is not a "
				    "village-level code",
				    f->zh, f->name, b, d->name, b);
			return CN_ERR_INVALID;
		}
		break;
	}
	case CN_FT_RECORD:
		for (size_t i = 0; i < len; i++)
			b[i] = (char)tolower((unsigned char)b[i]);
		break;
	default: break;
	}
	return cn_model_check_value(f, &out->val, diag);
}

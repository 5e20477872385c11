/*
 * synth.c - deterministic synthetic ledgers (splitmix64) for demos, tests
 * and benchmarks. Names, places and phone numbers are made up.
 */
#include "carenode/synth.h"

#include <stdlib.h>
#include <string.h>

#include "carenode/csv.h"
#include "carenode/model.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t pick(uint64_t *s, size_t n)
{
	return (size_t)(next(s) % n);
}

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周",
				       "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭",
				       "马", "罗", "崔", "薄", "扈", "盖", "綦"};
static const char *const given[] = {"子涵", "欣怡", "梓萱", "浩然", "宇轩", "诗涵", "俊杰", "雨桐",
				    "博文", "佳怡", "一诺", "思远", "明轩", "若曦", "天佑", "语桐",
				    "晨阳", "紫萱", "嘉豪", "可馨", "小明", "小红", "家乐", "文静"};
static const char *const adult_given[] = {"建国", "秀兰", "志强", "桂英", "海涛", "玉梅",
					  "国华", "淑珍", "红军", "丽娟", "永刚", "春燕"};
static const char *const work_places[] = {
	"东营市东营区",   "滨州市",       "淄博市张店区", "济南市历下区", "青岛市黄岛区",
	"天津市滨海新区", "北京市大兴区", "江苏省苏州市", "浙江省宁波市", "广东省东莞市"};
static const char *const kindergartens[] = {"北宋镇中心幼儿园", "盐窝镇中心幼儿园"};
static const char *const primaries[] = {"北宋镇中心小学", "利津县第二实验小学", "陈庄镇中心小学"};
static const char *const middles[] = {"北宋镇中学", "利津县实验中学"};
static const char *const streets[] = {"一街", "二街", "三街", "前街", "后街", "东胡同", "西胡同"};

static const char *const header[] = {"姓名",
				     "公民身份号码",
				     "户籍地址",
				     "所在村（居）代码",
				     "父亲姓名",
				     "父亲状况",
				     "父亲务工地",
				     "父亲联系电话",
				     "母亲姓名",
				     "母亲状况",
				     "母亲务工地",
				     "母亲联系电话",
				     "就学状况",
				     "就读学校",
				     "健康状况",
				     "低保特困情况",
				     "监护类型",
				     "监护人姓名",
				     "与儿童关系",
				     "监护人联系电话",
				     "监护能力评估日期",
				     "监护能力评估结论"};

static void phone(uint64_t *s, char *out, size_t cap)
{
	static const char *const prefixes[] = {"133", "135", "138", "150", "158", "186", "188"};

	snprintf(out, cap, "%s%08llu", prefixes[pick(s, N(prefixes))],
		 (unsigned long long)(next(s) % 100000000ull));
}

cn_err cn_synth_ledger(FILE *out, const char *village, size_t count, uint64_t seed, uint64_t now_ms,
		       cn_diag *diag)
{
	char today[11], id[64], addr[160], father[32], mother[32], child[32], gname[32];
	char fphone[24], mphone[24], gphone[24], eval[48];
	char *seen = NULL;
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + strtoull(village, NULL, 10);
	int ty;
	cn_err err;

	if (strlen(village) != 12 || strspn(village, "0123456789") != 12) {
		cn_diag_set(diag, "village code must be 12 digits");
		return CN_ERR_INVALID;
	}
	cn_model_date_today(now_ms, today);
	ty = atoi(today);
	/* order codes used per birth date: 15 years x 366 days x 1000 */
	seen = calloc(15 * 366, 1000 / 8 + 1);
	if (!seen)
		return CN_ERR_NOMEM;
	if ((err = cn_csv_write_bom(out)) || (err = cn_csv_write_row(out, header, N(header))))
		goto done;
	for (size_t i = 0; i < count; i++) {
		const char *sn = surnames[pick(&s, N(surnames))];
		int age = 1 + (int)pick(&s, 15);
		int doy, y, m, d, order;
		bool male = next(&s) & 1;
		const char *fstatus = "外出务工", *mstatus = "外出务工", *gtype, *rel;
		const char *cells[N(header)];
		size_t slot;
		int tries = 0;

		/* a birth date strictly before today's date that many years ago */
		do {
			y = ty - age - 1 + (int)pick(&s, 2);
			m = 1 + (int)pick(&s, 12);
			d = 1 + (int)pick(&s, 28);
			snprintf(eval, sizeof(eval), "%04d-%02d-%02d", y, m, d);
		} while (strcmp(eval, today) >= 0 || cn_model_age_on(eval, today) >= 16 ||
			 cn_model_age_on(eval, today) < 1);
		/* a unique order code for that date, odd for boys (GB 11643) */
		doy = ((ty - y) % 15) * 366 + (m - 1) * 31 + (d - 1);
		do {
			order = (int)pick(&s, 500) * 2 + (male ? 1 : 0);
			slot = (size_t)doy * 1000 + (size_t)order;
		} while ((seen[slot / 8] >> (slot % 8) & 1) && ++tries < 2000);
		if (tries >= 2000) {
			cn_diag_set(diag, "too many synthetic children for one village");
			err = CN_ERR_LIMIT;
			goto done;
		}
		seen[slot / 8] |= (char)(1 << (slot % 8));
		snprintf(id, sizeof(id), "370522%04d%02d%02d%03d", y, m, d, order);
		id[17] = cn_model_idnum_check_char(id);
		id[18] = 0;
		snprintf(child, sizeof(child), "%s%s", sn, given[pick(&s, N(given))]);
		snprintf(father, sizeof(father), "%s%s", sn, adult_given[pick(&s, N(adult_given))]);
		snprintf(mother, sizeof(mother), "%s%s", surnames[pick(&s, N(surnames))],
			 adult_given[pick(&s, N(adult_given))]);
		snprintf(addr, sizeof(addr), "山东省东营市利津县（村代码%s）%s%d号", village,
			 streets[pick(&s, N(streets))], 1 + (int)pick(&s, 120));
		phone(&s, fphone, sizeof(fphone));
		phone(&s, mphone, sizeof(mphone));
		phone(&s, gphone, sizeof(gphone));
		switch (pick(&s, 10)) {
		case 0:
			mstatus = "在家";
			gtype = "父母";
			rel = "母亲";
			snprintf(gname, sizeof(gname), "%s", mother);
			break;
		case 1:
			gtype = "其他亲属";
			rel = "姑姑";
			snprintf(gname, sizeof(gname), "%s%s", sn,
				 adult_given[pick(&s, N(adult_given))]);
			break;
		case 2:
			gtype = "受委托非亲属";
			rel = "邻居";
			snprintf(gname, sizeof(gname), "%s%s", surnames[pick(&s, N(surnames))],
				 adult_given[pick(&s, N(adult_given))]);
			break;
		default:
			gtype = "祖父母外祖父母";
			rel = next(&s) & 1 ? "祖母" : "外祖母";
			snprintf(gname, sizeof(gname), "%s%s", surnames[pick(&s, N(surnames))],
				 adult_given[pick(&s, N(adult_given))]);
		}
		if (pick(&s, 12) == 0)
			fstatus = "丧失监护能力";
		cells[0] = child;
		cells[1] = id;
		cells[2] = addr;
		cells[3] = village;
		cells[4] = father;
		cells[5] = fstatus;
		cells[6] =
			!strcmp(fstatus, "外出务工") ? work_places[pick(&s, N(work_places))] : "";
		cells[7] = fphone;
		cells[8] = mother;
		cells[9] = mstatus;
		cells[10] =
			!strcmp(mstatus, "外出务工") ? work_places[pick(&s, N(work_places))] : "";
		cells[11] = mphone;
		cells[12] = age < 3 ? "学龄前" : age < 6 ? "幼儿园" : age < 12 ? "小学" : "初中";
		cells[13] = age < 3    ? ""
			    : age < 6  ? kindergartens[pick(&s, N(kindergartens))]
			    : age < 12 ? primaries[pick(&s, N(primaries))]
				       : middles[pick(&s, N(middles))];
		cells[14] = pick(&s, 20) == 0 ? "慢性病" : "健康";
		cells[15] = pick(&s, 8) == 0 ? "低保" : "无";
		cells[16] = gtype;
		cells[17] = gname;
		cells[18] = rel;
		cells[19] = gphone;
		/* most grandparents have been evaluated by the village committee */
		if (!strcmp(gtype, "祖父母外祖父母") && pick(&s, 5) != 0) {
			snprintf(eval, sizeof(eval), "%04d-%02d-%02d", ty - 1,
				 1 + (int)pick(&s, 12), 1 + (int)pick(&s, 28));
			cells[20] = eval;
			cells[21] = "具备监护能力";
		} else {
			cells[20] = "";
			cells[21] = "";
		}
		if ((err = cn_csv_write_row(out, cells, N(header))))
			goto done;
	}
	if (fflush(out) != 0)
		err = CN_ERR_IO;
done:
	free(seen);
	return err;
}

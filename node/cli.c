/*
 * cli.c - global options, help, dispatch and exit codes of the carenode
 * command line. Commands live in cli_records.c (the ledger) and cli_admin.c
 * (the node and its log).
 */
#include "carenode/cli.h"
#include "carenode/view.h"

#include <sodium.h>

#include <stdlib.h>
#include <unistd.h>
#include <termios.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>

#include "carenode/json.h"
#include "carenode/keyfile.h"

typedef struct command {
	const char *name;
	const char *usage;
	const char *help; /* Chinese, then English */
} command;

static const command commands[] = {
	{"init",
	 "init --level village|township|county --code 12位区划代码 [--encrypt [--kdf "
	 "moderate|interactive]]",
	 "创建节点目录：数据库、Ed25519 "
	 "密钥（node.key，权限0600）、级别与区划代码。不覆盖已有节点。--encrypt："
	 "数据库与密钥文件加密保存，没有口令无法读取（村里的笔记本电脑应使用）。\n"
	 "Create a node folder: database, Ed25519 key pair (node.key, mode 0600), level and "
	 "division code. --encrypt: the database and key files are encrypted at rest, unreadable "
	 "without the passphrase (use it on every village laptop).\n"
	 "Refuses to overwrite an existing node."},
	{"info", "info", "显示本节点的身份与数据量 / show this node's identity and counts."},
	{"child", "child add|update|remove|move|show|list ...",
	 "儿童档案（R1）/ children's files (R1):\n"
	 "  child add --name 姓名 --id 公民身份号码 --household-address 户籍地址 [--字段 值]...\n"
	 "  child update 儿童 --字段 值 ...      修改档案 / change fields (\"\" clears)\n"
	 "  child remove 儿童 --reason parents_returned|aged_16|moved_away|other\n"
	 "               [--caring-parent father|mother|both] [--date 日期] [--note 说明]\n"
	 "  child move 儿童 --to 村（居）代码      迁往他村（须由同时管辖两村的乡镇或县办理）/\n"
	 "                                      move to another village (by a township or the\n"
	 "                                      county holding both places)\n"
	 "  child show 儿童                      档案全貌 / the whole file\n"
	 "  child list [--village 代码] [--status active|removed|all] [--age-min N] [--age-max N]\n"
	 "“儿童”可写18位公民身份号码或档案编号（至少6位）/ a child is named by resident ID or "
	 "record id.\n"
	 "字段见 carenode dictionary / fields: see carenode dictionary."},
	{"guardian",
	 "guardian set 儿童 --guardian-type 类型 --name 姓名 --relation 关系 [--字段 值]...",
	 "设置监护情况（R2）/ set the child's guardianship (R2)."},
	{"assess",
	 "assess 儿童 --date 日期 --assessor 评估人 --safety .. --guardianship .. --health .. "
	 "--result 较好|一般|差",
	 "登记评估（R7），帮扶方式由结果推出 / record an assessment (R7); the assistance mode "
	 "follows from the result."},
	{"visit",
	 "visit 儿童 --type party_cadre|stationed_cadre|social_worker --date 日期 --visitor 走访人 "
	 "--findings 情况",
	 "登记走访（R3.2）/ record a home visit (R3.2)."},
	{"report",
	 "report 儿童 --reporter-type school|kindergarten|medical|village_committee|social_work|"
	 "relief|welfare|citizen --reporter 报告人 --situation living_alone|missing|"
	 "guardian_incapable|guardian_neglect|domestic_violence|accidental_injury|unlawful_harm "
	 "--found-date 日期 --date 报告日期 --details 情况",
	 "强制报告（R5）：总是紧急，优先于任何积压送达县公安与民政。\n"
	 "A mandatory report (R5): always urgent, it reaches the county's police and civil "
	 "affairs ahead of any backlog."},
	{"contact",
	 "contact 儿童 --date 日期 --parent father|mother --method phone|video|in_person|other "
	 "[--note 内容]",
	 "登记父母亲情联系（R2.5）/ record a parent's contact with the child (R2.5)."},
	{"respond",
	 "respond 报告编号 --step accept|dispatch|order_parents_back|appoint_entrusted|admonish|"
	 "contact_parents|temporary_care|notify_parents|rapid_search|stop_violence|shelter|protect|"
	 "evidence|medical_care|injury_assessment|notify_township|township_received|close "
	 "--by 处置人 [--at 时间|now] [--place 地点] [--note 情况]",
	 "应急处置（R6）：公安受理、出警、按情形处置（R6.2）、通报乡镇（R6.3）；乡镇记录接报。"
	 "不能重复受理，未受理不能处置，必需环节未完成不能结束。紧急，优先送达。\n"
	 "Emergency response (R6): the police accept, go out, act per situation (R6.2) and "
	 "notify the township (R6.3), which acknowledges. A report is accepted once; nothing "
	 "before acceptance; no close while a required step is missing. Urgent: travels first."},
	{"reports", "reports [--open]",
	 "强制报告及其处置进度（R5、R6）/ mandatory reports and their response so far."},
	{"unreported",
	 "unreported 儿童 --unit-type 单位类别 --unit 单位 [--person 责任人] --known-date 日期 "
	 "--date 日期 --details 情况",
	 "登记知情不报的责任单位（R5.3、R10）/ record an obliged unit that knew and did not "
	 "report."},
	{"schooling",
	 "schooling 儿童 --event enrolled|transferred|dropout|out_of_school|truancy|returned|"
	 "graduated --date 日期 --school 学校 [--guardian-notified 日期]",
	 "学籍变动（R9.2）：辍学、失学、逃学生成通知家长与劝返复学的待办。\n"
	 "Schooling changes (R9.2): a dropout, out-of-school or truancy opens tasks to tell the "
	 "guardian and bring the child back."},
	{"service",
	 "service add 儿童 --service 项目 --provider-type 类别 --provider 提供方 --follow-up 日期 "
	 "| service update 编号 --字段 值",
	 "帮扶服务（R7.3 保护式帮扶的服务计划、R9.1 救助）：每项有提供方、状态、跟进日期。\n"
	 "Assistance services (R7.3 protective plan, R9.1 relief): each with provider, status and "
	 "follow-up date."},
	{"intervention",
	 "intervention open 儿童 --incident violence|abuse|abandonment --incident-date 日期 "
	 "| intervention update 编号 --字段 值",
	 "监护干预（R8）：符合撤销监护资格条件时提示向法院申请，并跟踪裁判；有申请未裁判不能结案。"
	 "\n"
	 "Guardianship intervention (R8): flags when the criteria for revocation are met, tracks "
	 "the court application; no closing while the court has not decided."},
	{"hotline",
	 "hotline add --village-code 村代码 [--child 儿童] --caller 来电人 --content 内容 "
	 "--taken-by 接听人 [--situation 情形] | hotline handle 编号 --handled-by 办理人 "
	 "--handling 情况",
	 "关爱保护热线（R11.2）：按区划代码转所属乡镇办理；涉及强制报告情形的为紧急。\n"
	 "The care hotline (R11.2): routed by the village code to its township; urgent when it "
	 "describes an R5.2 situation."},
	{"deadline", "deadline list | deadline set 事项 小时数 [--basis 依据]",
	 "县里设定的处置时限（R6、R10），同步到全县各节点，逾期事项据此提级。\n"
	 "The county's deadlines (R6, R10), synced to every node; overdue items escalate by them."},
	{"meeting", "meeting [--from 日期] [--to 日期]",
	 "联席会议报表（R10、R11.3）：按乡镇统计报告、受理时长中位数、评估、走访、热线、辍学、"
	 "知情不报、待办与逾期（按责任方）。\n"
	 "The joint meeting's report (R10, R11.3): per township, reports, median time to "
	 "acceptance, assessments, visits, hotline, dropouts, units that failed to report, open "
	 "and overdue tasks by who is responsible."},
	{"api", "api GET|POST /api/路径 [--参数 值]...",
	 "调用本节点的 JSON 接口（网页界面所用，见 node/API.md），输出 JSON；写入须登录。\n"
	 "Call this node's JSON API (what the web interface uses; node/API.md); prints the JSON. "
	 "Writes need a login."},
	{"user",
	 "user add --login 登录名 --name 姓名 --role "
	 "liaison|committee|officer|civil_affairs|department|"
	 "school|clinic [--unit 代码] | list | disable 登录名 | enable 登录名 | passwd 登录名",
	 "本节点的用户（密码以 Argon2id 保存在本机，不同步）。有了用户后，录入命令须用 --user "
	 "登录名并输入密码（--password-file 或 CARENODE_PASSWORD_FILE），连续错 5 次锁定 15 分钟，"
	 "每次登录都有记录；角色限定可录入的内容。\n"
	 "People on this node (Argon2id password hashes kept here, never synced). Once there "
	 "are users, commands that write records need --user LOGIN and its password "
	 "(--password-file or CARENODE_PASSWORD_FILE); 5 wrong in a row lock it for 15 minutes; "
	 "every attempt is logged; the role limits what may be written."},
	{"tasks",
	 "tasks [--village 代码] [--overdue] [--summary] [--owner "
	 "village|township|county|police|school] [--mine] [--as-of 时间]",
	 "待办事项（由记录计算，R10）：无监护人或单独居住的未满16周岁儿童（R2."
	 "1）、祖辈兄姐监护未评估"
	 "（R2.2）、委托监护手续不全（R2.3）、指定监护未完成（R2.4）、半年评估到期与逾期（R7."
	 "2）。\n"
	 "Tasks computed from the records (R10): children under 16 without a guardian or living "
	 "alone (R2.1), guardians not evaluated (R2.2), entrusted guardianship incomplete (R2.3), "
	 "designation unfinished (R2.4), half-yearly assessments due or overdue (R7.2)."},
	{"conflicts", "conflicts",
	 "列出待乡镇专干裁定的并发修改 / list concurrent edits waiting for a decision."},
	{"log", "log [--limit N] [--after 位置]",
	 "以可读形式列出操作日志 / show the op log, human readable."},
	{"export", "export [--format csv|json] [--status active|removed|all] [--out 文件]",
	 "导出台账：CSV（中文表头，Excel可打开）或 JSON / export the ledger as CSV (Chinese "
	 "headers) or JSON."},
	{"import", "import 文件.csv [--encoding auto|utf8|gb18030] [--skip-bad]",
	 "从CSV导入乡镇台账（UTF-8或GB18030）；默认整文件要么全部导入要么都不导入，--skip-bad "
	 "跳过并逐行报告错误行。\n"
	 "Import a township ledger CSV (UTF-8 or GB18030); all-or-nothing unless --skip-bad, which "
	 "reports each bad row."},
	{"verify", "verify",
	 "重新校验每个签名、每个链接和投影表；出错时指出第一个错误操作（节点、序号）。\n"
	 "Re-check every signature, chain link and the projection; names the first bad op (origin, "
	 "seq)."},
	{"rebuild", "rebuild",
	 "由操作日志重建所有投影表 / rebuild every projected table from the op log."},
	{"backup", "backup 备份文件",
	 "在线备份数据库（节点运行时也可），文件权限0600，不覆盖已有文件 / back up the database "
	 "online (safe while the node runs); mode 0600, never over an existing file."},
	{"restore", "restore 备份文件",
	 "从备份恢复（节点须先停止）：先校验备份，原数据库改名保留；恢复后须先与上级同步一次才能录"
	 "入，"
	 "以免本节点的操作链分叉。\n"
	 "Restore from a backup (stop the node first): the backup is verified first and the old "
	 "database kept under a new name; then sync once with the parent before writing, so this "
	 "node's chain cannot fork."},
	{"digest", "digest [--scope 区划代码前缀]",
	 "输出投影状态的哈希，用于比较两个节点 / print one hash of the projected state, to compare "
	 "nodes."},
	{"dictionary", "dictionary",
	 "输出数据字典（Markdown）/ print the data dictionary (Markdown)."},
	{"ca", "ca init|enroll|revoke ...",
	 "县级根身份与证书（在离线电脑上）/ the county root identity and certificates (offline "
	 "machine):\n"
	 "  ca init [--county 370522000000]        创建根密钥与网络密钥 / root key and network "
	 "key\n"
	 "  ca enroll --subject 公钥 --role county|township|civil_affairs|education|police|... "
	 "--code 区划代码 [--days N] --out 文件\n"
	 "  ca revoke --chain 该节点的证书链 | --subject 公钥 --serial 证书序号, --reason 原因 "
	 "--out 文件\n"
	 "--dir 为根身份目录 / --dir is the CA folder."},
	{"enroll", "enroll --subject 村节点公钥 --code 村代码 [--days N] --out 文件",
	 "乡镇（或县）节点为辖区内的村签发证书链 / a township (or the county) enrols a village "
	 "inside its own prefix."},
	{"passphrase", "passphrase [--new-passphrase-file 文件] [--kdf moderate|interactive]",
	 "更改加密节点的口令（数据不需重新加密）/ change an encrypted node's passphrase (the data "
	 "is not re-encrypted)."},
	{"encrypt", "encrypt --to 新目录 [--kdf moderate|interactive]",
	 "把未加密的节点（须先停止）复制为加密的新目录，节点密钥不变；之后改用新目录并销毁原目录。"
	 "\n"
	 "Copy a plain node (stopped) into a new, encrypted folder with the same node key; then "
	 "switch to it and destroy the old folder."},
	{"revoke", "revoke 吊销文件",
	 "把 ca revoke 签发的吊销记录录入本节点（县或乡镇），随同步传到每个节点：丢失的电脑"
	 "从此不能连接、写入或发送数据包 / enter a revocation made by ca revoke into this node; "
	 "it travels to every node, and the lost laptop can no longer connect, write or send "
	 "bundles."},
	{"join", "join --chain 证书链 --root 根公钥或root.pub --network-key network.key",
	 "安装本节点的证书链与网络密钥；链须签发给本节点并验证到县级根 / install this node's chain "
	 "and network key; the chain must certify this node and verify to the county root."},
	{"serve",
	 "serve [--listen tcp://地址:端口] [--parent tcp://上级:端口] [--interval 秒] [--batch "
	 "字节] [--child-rate 千字节每秒] [--http http://127.0.0.1:端口 | --http https://地址:端口 "
	 "--tls-cert 证书与私钥.pem] [--allow-plain-http]",
	 "运行节点：接受下级连接，并持续与上级同步（失败时退避重试）/ run the node: serve children "
	 "and sync with the parent continuously, backing off on failure. Ctrl-C 停止 / stops. "
	 "--child-rate 限制每个下级的请求量（默认 4096 KB/s，每秒 100 次，可突发 8 秒），超出时"
	 "答复“繁忙，请稍后再试” / caps what each child may send (default 4096 KB/s, 100 requests "
	 "a second, 8 s of burst); beyond it the child is told to retry later. --http 同时提供网页"
	 "界面与接口（明文 http 只限本机，除非加 --allow-plain-http；对外请用 https 与证书）/ "
	 "also serves the web pages and the JSON API (plain http on loopback only, unless "
	 "--allow-plain-http; https with a certificate for other machines)."},
	{"sync", "sync --once --parent tcp://上级:端口 [--timeout 秒] [--batch 字节]",
	 "与上级同步一次后退出；退出码说明结果。不指定 --batch 时每批大小随实测链路调整，"
	 "--timeout 为单次往返的上限（默认60秒）/ one exchange with the parent, then exit with a "
	 "meaningful status. Without --batch each message's size follows the measured link; "
	 "--timeout caps one round trip (default 60 s)."},
	{"bundle",
	 "bundle export --to 区划代码 [--out 文件] | import 文件 [--receipt 文件|--no-receipt] | "
	 "show 文件 | list",
	 "U盘数据包（无网络的村）：export "
	 "为上级或下级写出对方缺少的数据（加密给对方并签名）；import "
	 "校验并导入，然后写出带回给对方的回执；show 查看数据包是谁发给谁的；list "
	 "列出已导出与导入的数据包。\n"
	 "USB bundles (villages with no link): export writes what the parent or a child lacks, "
	 "encrypted to it and signed; import verifies and applies one, then writes the receipt to "
	 "carry back; show says who sent it to whom; list shows the bundles written and read."},
	{"budget", "budget [--max-mb 兆字节|--off]",
	 "副本容量上限：超过 90% "
	 "时警告，达到上限后不再接收新数据（紧急报告与证书除外）；不带参数时显示当前用量。\n"
	 "The replica's size limit: a warning past 90%, then no new data except urgent reports and "
	 "certificates; without options, shows the use."},
	{"status", "status",
	 "显示与各节点的同步状态、待上传操作、隔离数 / sync state per peer: last "
	 "contact, ops pending, quarantine."},
	{"synth", "synth --village 代码 --count N [--seed S] [--out 文件]",
	 "生成合成儿童台账CSV（演示与测试用，非真实数据）/ write a synthetic ledger CSV (demo and "
	 "tests; no real data)."},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fputs("carenode — 农村留守儿童关爱保护信息系统节点 / rural left-behind children's care and "
	      "protection node\n\n"
	      "用法 / usage: carenode [--dir 节点目录] [--user 用户] [--json] <命令> [参数]\n\n"
	      "命令 / commands:\n",
	      f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fputs("\n全局选项 / global options:\n"
	      "  --dir DIR    节点目录（默认 $CARENODE_DIR 或当前目录）/ node folder "
	      "($CARENODE_DIR or .)\n"
	      "  --user NAME  操作人，记入每个操作（默认 $CARENODE_USER 或 $USER）/ acting user "
	      "recorded in each op\n"
	      "  --json       输出JSON，便于脚本处理 / machine-readable output\n"
	      "  --urgent     本次录入为紧急事项，同步时优先于积压数据送达上级 / what this "
	      "command writes is urgent:\n"
	      "               it travels ahead of any backlog, up to the county\n"
	      "  carenode <命令> --help  查看命令说明 / help for one command\n\n"
	      "退出码 / exit codes: 0 成功 ok, 1 其他错误 other, 2 用法错误 usage, 3 输入不合法 "
	      "invalid input,\n"
	      "  4 未找到 not found, 5 完整性校验失败 integrity failure, 6 超出辖区 outside "
	      "jurisdiction,\n"
	      "  7 已存在或状态不允许 exists / wrong state, 8 存储错误 storage (disk full, "
	      "read-only, I/O),\n"
	      "  9 网络不通或对方无应答 network (the peer is unreachable or silent)\n",
	      f);
}

static int exit_code(cn_err err)
{
	switch (err) {
	case CN_OK: return 0;
	case CN_ERR_USAGE: return 2;
	case CN_ERR_INVALID:
	case CN_ERR_FORMAT:
	case CN_ERR_TRUNCATED:
	case CN_ERR_LIMIT: return 3;
	case CN_ERR_NOTFOUND:
	case CN_ERR_AMBIGUOUS: return 4;
	case CN_ERR_SIGNATURE:
	case CN_ERR_CHAIN:
	case CN_ERR_MISMATCH: return 5;
	case CN_ERR_DENIED: return 6;
	case CN_ERR_EXISTS:
	case CN_ERR_STATE: return 7;
	case CN_ERR_IO:
	case CN_ERR_DB:
	case CN_ERR_BUSY:
	case CN_ERR_FULL:
	case CN_ERR_READONLY: return 8;
	case CN_ERR_NETWORK: return 9;
	default: return 1;
	}
}

const char *cn_cli_opt(cn_cli *c, const char *name)
{
	for (size_t i = 0; i < c->n_opts; i++) {
		if (!strcmp(c->opt_name[i], name)) {
			c->opt_used[i] = true;
			return c->opt_value[i] ? c->opt_value[i] : "";
		}
	}
	return NULL;
}

cn_err cn_cli_no_leftovers(cn_cli *c)
{
	for (size_t i = 0; i < c->n_opts; i++) {
		if (!c->opt_used[i]) {
			cn_diag_set(&c->diag, "未知选项 --%s / unknown option --%s", c->opt_name[i],
				    c->opt_name[i]);
			return CN_ERR_USAGE;
		}
	}
	return CN_OK;
}

cn_err cn_cli_secret_file(cn_cli *c, const char *path, char *buf, size_t cap, size_t *len)
{
	uint8_t *bytes = NULL;
	size_t n = 0, i;
	cn_err err = cn_file_read(path, cap, &bytes, &n, &c->diag);

	if (err)
		return err;
	for (i = 0; i < n && i + 1 < cap && bytes[i] != '\n' && bytes[i] != '\r'; i++)
		buf[i] = (char)bytes[i];
	sodium_memzero(bytes, n);
	free(bytes);
	*len = i;
	return CN_OK;
}

cn_err cn_cli_secret_prompt(cn_cli *c, const char *text, const char *no_tty, char *buf, size_t cap,
			    size_t *len)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	size_t n = 0;
	char ch;

	if (fd < 0 || !isatty(fd)) {
		if (fd >= 0)
			close(fd);
		cn_diag_set(&c->diag, "%s", no_tty);
		return CN_ERR_DENIED;
	}
	(void)!write(fd, text, strlen(text));
	tcgetattr(fd, &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fd, TCSAFLUSH, &quiet);
	while (read(fd, &ch, 1) == 1 && ch != '\n' && ch != '\r' && n + 1 < cap)
		buf[n++] = ch;
	tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	close(fd);
	*len = n;
	return CN_OK;
}

cn_err cn_cli_open(cn_cli *c, bool readonly, cn_node **out)
{
	cn_err err = cn_cli_unlock(c);

	if (!err)
		err = cn_node_open(c->dir, readonly, c->env, out, &c->diag);

	/* what this command writes travels ahead of any backlog (issue #4) */
	if (!err && c->urgent)
		cn_node_set_op_flags(*out, CN_OP_FLAG_URGENT);
	return err;
}

cn_err cn_cli_field_inputs(cn_cli *c, const char *kind, cn_input *in, size_t cap, size_t *n)
{
	const cn_kind_def *k = cn_model_kind(kind, strlen(kind));

	*n = 0;
	for (size_t i = 0; i < c->n_opts; i++) {
		const char *o = c->opt_name[i];
		char *nm = c->field_name[i];
		size_t len = strlen(o);

		if (c->opt_used[i])
			continue;
		if (len > CN_FIELD_NAME_MAX) {
			cn_diag_set(&c->diag, "未知选项 --%s / unknown option --%s", o, o);
			return CN_ERR_USAGE;
		}
		for (size_t j = 0; j <= len; j++)
			nm[j] = o[j] == '-' ? '_' : o[j];
		if (!strcmp(nm, "id") && !strcmp(kind, "child"))
			strcpy(nm, "id_number");
		if (!strcmp(nm, "type") && !strcmp(kind, "visit"))
			strcpy(nm, "visit_type");
		if (!cn_model_field(k, nm, strlen(nm))) {
			cn_diag_set(&c->diag,
				    "%s没有字段 --%s（见 carenode dictionary）/ %s has no field "
				    "--%s (see carenode dictionary)",
				    k->zh, o, k->name, o);
			return CN_ERR_USAGE;
		}
		if (!c->opt_value[i]) {
			cn_diag_set(&c->diag, "选项 --%s 缺少取值 / option --%s needs a value", o,
				    o);
			return CN_ERR_USAGE;
		}
		if (*n == cap)
			return CN_ERR_LIMIT;
		in[(*n)++] = (cn_input){nm, c->opt_value[i]};
		c->opt_used[i] = true;
	}
	return CN_OK;
}

void cn_cli_print_ok(cn_cli *c, const char *zh, const char *en, const uint8_t *record)
{
	char hex[33] = "";

	if (record)
		cn_hex(record, CN_RECORD_BYTES, hex);
	if (c->json) {
		cn_json j;
		cn_json_init(&j, c->out);
		cn_json_object(&j);
		cn_json_kv_bool(&j, "ok", true);
		if (record)
			cn_json_kv_str(&j, "record", hex);
		cn_json_object_end(&j);
		fputc('\n', c->out);
	} else if (record) {
		fprintf(c->out, "%s / %s: %s\n", zh, en, hex);
	} else {
		fprintf(c->out, "%s / %s\n", zh, en);
	}
}

void cn_cli_time(uint64_t hlc, char out[32])
{
	cn_view_time(hlc, out);
}

/* Options that never take a value. */
static bool is_flag(const char *name)
{
	static const char *const flags[] = {
		"json", "help",    "skip-bad", "h",       "once", "urgent", "no-receipt",
		"off",  "encrypt", "overdue",  "summary", "mine", "open",   "allow-plain-http"};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(name, flags[i]))
			return true;
	return false;
}

/* Splits argv into options (--name value, --name=value) and positionals. */
static cn_err parse_args(cn_cli *c, int argc, char **argv, int start, const char **cmd,
			 const char **sub)
{
	*cmd = *sub = NULL;
	for (int i = start; i < argc; i++) {
		char *a = argv[i];
		if (a[0] == '-' && a[1] == '-' && a[2]) {
			char *name = a + 2, *eq = strchr(name, '=');
			const char *value = NULL;
			if (eq) {
				*eq = 0;
				value = eq + 1;
			} else if (!is_flag(name)) {
				if (i + 1 >= argc) {
					cn_diag_set(
						&c->diag,
						"选项 --%s 缺少取值 / option --%s needs a value",
						name, name);
					return CN_ERR_USAGE;
				}
				value = argv[++i];
			}
			if (!strcmp(name, "dir")) {
				c->dir = value;
			} else if (!strcmp(name, "passphrase-file")) {
				c->passphrase_file = value;
			} else if (!strcmp(name, "password-file")) {
				c->password_file = value;
			} else if (!strcmp(name, "user")) {
				c->user = value;
			} else if (!strcmp(name, "json")) {
				c->json = true;
			} else if (!strcmp(name, "urgent")) {
				c->urgent = true;
			} else if (!strcmp(name, "help")) {
				c->help = true;
			} else {
				if (c->n_opts == CN_CLI_MAX_OPTS) {
					cn_diag_set(&c->diag, "选项过多 / too many options");
					return CN_ERR_USAGE;
				}
				c->opt_name[c->n_opts] = name;
				c->opt_value[c->n_opts++] = value;
			}
		} else if (!strcmp(a, "-h")) {
			c->help = true;
		} else if (!*cmd) {
			*cmd = a;
		} else if (!*sub && (!strcmp(*cmd, "child") || !strcmp(*cmd, "guardian") ||
				     !strcmp(*cmd, "ca") || !strcmp(*cmd, "bundle") ||
				     !strcmp(*cmd, "user") || !strcmp(*cmd, "service") ||
				     !strcmp(*cmd, "intervention") || !strcmp(*cmd, "hotline") ||
				     !strcmp(*cmd, "deadline"))) {
			*sub = a;
		} else {
			if (c->n_pos == CN_CLI_MAX_POS) {
				cn_diag_set(&c->diag, "参数过多 / too many arguments");
				return CN_ERR_USAGE;
			}
			c->pos[c->n_pos++] = a;
		}
	}
	return CN_OK;
}

static const command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static cn_err dispatch(cn_cli *c, const char *cmd, const char *sub)
{
	if (!strcmp(cmd, "init"))
		return cn_cli_init(c);
	if (!strcmp(cmd, "info"))
		return cn_cli_info(c);
	if (!strcmp(cmd, "child"))
		return cn_cli_child(c, sub);
	if (!strcmp(cmd, "guardian"))
		return cn_cli_guardian(c, sub);
	if (!strcmp(cmd, "assess"))
		return cn_cli_event(c, "assessment");
	if (!strcmp(cmd, "visit"))
		return cn_cli_event(c, "visit");
	if (!strcmp(cmd, "contact"))
		return cn_cli_event(c, "contact");
	if (!strcmp(cmd, "report")) {
		c->urgent = true; /* R5.3: to the police at once, ahead of any backlog */
		return cn_cli_event(c, "report");
	}
	if (!strcmp(cmd, "respond"))
		return cn_cli_respond(c);
	if (!strcmp(cmd, "reports"))
		return cn_cli_reports(c);
	if (!strcmp(cmd, "unreported"))
		return cn_cli_event(c, "unreported");
	if (!strcmp(cmd, "schooling"))
		return cn_cli_event(c, "schooling");
	if (!strcmp(cmd, "deadline"))
		return cn_cli_deadline(c, sub);
	if (!strcmp(cmd, "service"))
		return cn_cli_service(c, sub);
	if (!strcmp(cmd, "intervention"))
		return cn_cli_intervention(c, sub);
	if (!strcmp(cmd, "hotline"))
		return cn_cli_hotline(c, sub);
	if (!strcmp(cmd, "meeting"))
		return cn_cli_meeting(c);
	if (!strcmp(cmd, "api"))
		return cn_cli_api(c);
	if (!strcmp(cmd, "conflicts"))
		return cn_cli_conflicts(c);
	if (!strcmp(cmd, "log"))
		return cn_cli_log(c);
	if (!strcmp(cmd, "export"))
		return cn_cli_export(c);
	if (!strcmp(cmd, "import"))
		return cn_cli_import(c);
	if (!strcmp(cmd, "verify"))
		return cn_cli_verify(c);
	if (!strcmp(cmd, "rebuild"))
		return cn_cli_rebuild(c);
	if (!strcmp(cmd, "backup"))
		return cn_cli_backup(c);
	if (!strcmp(cmd, "restore"))
		return cn_cli_restore(c);
	if (!strcmp(cmd, "digest"))
		return cn_cli_digest(c);
	if (!strcmp(cmd, "dictionary"))
		return cn_cli_dictionary(c);
	if (!strcmp(cmd, "synth"))
		return cn_cli_synth(c);
	if (!strcmp(cmd, "ca"))
		return cn_cli_ca(c, sub);
	if (!strcmp(cmd, "enroll"))
		return cn_cli_enroll(c);
	if (!strcmp(cmd, "join"))
		return cn_cli_join(c);
	if (!strcmp(cmd, "serve"))
		return cn_cli_serve(c);
	if (!strcmp(cmd, "sync"))
		return cn_cli_sync(c);
	if (!strcmp(cmd, "status"))
		return cn_cli_status(c);
	if (!strcmp(cmd, "bundle"))
		return cn_cli_bundle(c, sub);
	if (!strcmp(cmd, "budget"))
		return cn_cli_budget(c);
	if (!strcmp(cmd, "revoke"))
		return cn_cli_revoke(c);
	if (!strcmp(cmd, "passphrase"))
		return cn_cli_passphrase(c);
	if (!strcmp(cmd, "encrypt"))
		return cn_cli_encrypt(c);
	if (!strcmp(cmd, "tasks"))
		return cn_cli_tasks(c);
	if (!strcmp(cmd, "user"))
		return cn_cli_user(c, sub);
	cn_diag_set(&c->diag, "未知命令“%s”，见 carenode --help / unknown command %s", cmd, cmd);
	return CN_ERR_USAGE;
}

int cn_cli_main(int argc, char **argv, const cn_env *env)
{
	cn_cli c;
	const char *cmd, *sub;
	const command *cm;
	cn_err err;

	memset(&c, 0, sizeof(c));
	c.out = stdout;
	c.err = stderr;
	c.env = env;
	c.dir = getenv("CARENODE_DIR");
	c.user = getenv("CARENODE_USER");
	err = parse_args(&c, argc, argv, 1, &cmd, &sub);
	if (!c.dir || !*c.dir)
		c.dir = ".";
	if (!c.user || !*c.user)
		c.user = getenv("USER");
	if (!c.user || !*c.user)
		c.user = "local";
	if (!err && !cmd) {
		usage(c.help ? c.out : c.err);
		return c.help ? 0 : 2;
	}
	if (!err && c.help) {
		cm = find_command(cmd);
		if (!cm) {
			usage(c.out);
			return 0;
		}
		fprintf(c.out, "用法 / usage: carenode %s\n\n%s\n", cm->usage, cm->help);
		return 0;
	}
	if (!err)
		err = dispatch(&c, cmd, sub);
	if (err) {
		fprintf(c.err, "carenode: %s%s%s\n", cn_strerror(err), c.diag.text[0] ? ": " : "",
			c.diag.text);
		if (c.json) {
			cn_json j;
			cn_json_init(&j, c.out);
			cn_json_object(&j);
			cn_json_kv_bool(&j, "ok", false);
			cn_json_kv_int(&j, "exit_code", exit_code(err));
			cn_json_kv_str(&j, "error", cn_strerror(err));
			cn_json_kv_str(&j, "message", c.diag.text);
			cn_json_object_end(&j);
			fputc('\n', c.out);
		}
	}
	sodium_free(c.vkey);
	if (fflush(c.out) != 0 && !err) {
		fprintf(c.err, "carenode: 写出失败 / writing output failed\n");
		return 8;
	}
	return exit_code(err);
}

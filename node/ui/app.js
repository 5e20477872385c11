/*
 * carenode web pages (issue #6): a single-page app over the node's JSON API
 * (node/API.md). Plain JavaScript, no framework, nothing from the internet.
 *
 * Rules kept throughout, because the Content-Security-Policy and the data
 * demand it:
 *   - the DOM is built with createElement/textContent only, never innerHTML:
 *     names, notes and every other value from the server are hostile input;
 *   - no inline handlers and no style attributes: classes from app.css, or
 *     element.style (CSSOM) for computed widths;
 *   - forms are generated from GET /api/model, and the server's error
 *     message is shown exactly as it comes.
 */
(function () {
	'use strict';

	/* ------------------------------------------------------------------ */
	/* Texts of the interface, Chinese first. Field labels come from the   */
	/* model, not from here.                                               */
	/* ------------------------------------------------------------------ */

	const TEXT = {
		app_title: ['农村留守儿童关爱保护信息系统', 'Rural Left-behind Children Care and Protection'],
		login_title: ['用户登录', 'Sign in'],
		login_name: ['登录名', 'Login'],
		password: ['密码', 'Password'],
		login_submit: ['登录', 'Sign in'],
		login_busy: ['正在登录…', 'Signing in…'],
		login_note: ['本系统数据涉及未成年人个人信息，仅限授权工作人员使用。', 'This system holds personal data of minors: authorised staff only.'],
		logout: ['退出', 'Sign out'],
		lang_other: ['English', '中文'],
		menu: ['菜单', 'Menu'],
		loading: ['正在加载…', 'Loading…'],
		nav_overview: ['统计概览', 'Overview'],
		nav_tasks: ['工作任务', 'Tasks'],
		nav_children: ['儿童台账', 'Ledger'],
		nav_new_child: ['新建档案', 'New file'],
		nav_reports: ['强制报告', 'Mandatory reports'],
		nav_conflicts: ['冲突待裁定', 'Conflicts'],
		nav_sync: ['同步与隔离', 'Sync'],
		nav_export: ['导出导入', 'Export / import'],
		nav_hotline: ['热线来电', 'Hotline'],
		nav_services: ['帮扶服务', 'Services'],
		nav_interventions: ['监护干预', 'Interventions'],
		nav_deadlines: ['处置时限', 'Deadlines'],
		nav_more: ['更多', 'More'],
		level_village: ['村级节点', 'village node'],
		level_township: ['乡镇级节点', 'township node'],
		level_county: ['县级节点', 'county node'],
		unit_village: ['村（居）', 'village'],
		unit_township: ['乡镇（街道）', 'township'],
		unit_county: ['县', 'county'],
		sync_ok: ['已同步', 'Synced'],
		sync_pending: ['待上传 {0} 条', '{0} waiting to go up'],
		sync_error: ['同步异常', 'Sync error'],
		sync_stale: ['一天以上未同步', 'No sync for a day'],
		sync_never: ['尚未与上级同步', 'Never synced'],
		sync_top: ['县级节点（无上级）', 'County node (no parent)'],
		sync_unknown: ['同步状态未知', 'Sync state unknown'],
		sync_last: ['最后同步：{0}', 'Last sync: {0}'],
		sync_offline: ['无法连接本节点', 'Cannot reach this node'],
		yes: ['是', 'yes'],
		no: ['否', 'no'],
		none: ['无', 'none'],
		dash: ['—', '—'],
		choose: ['请选择', 'choose'],
		save: ['保存', 'Save'],
		saving: ['正在保存…', 'Saving…'],
		saved: ['已保存', 'Saved'],
		cancel: ['取消', 'Cancel'],
		required_hint: ['带 * 的为必填项', 'Fields marked * are required'],
		required_missing: ['请填写必填项：{0}（仍已提交，以服务器校验为准）', 'Required: {0} (sent anyway; the node decides)'],
		auto_from_id: ['可由身份证号自动填写', 'filled from the ID number'],
		auto_village: ['默认为本节点所在村', "this node's village if empty"],
		max_chars: ['最多{0}字', 'at most {0} characters'],
		id_hint: ['18位公民身份号码', '18-character resident ID'],
		division_hint: ['12位区划代码', '12-digit division code'],
		error_network: ['无法连接本节点，请检查节点程序是否在运行。', 'Cannot reach the node: is it running?'],
		error_generic: ['出错了', 'Something went wrong'],
		not_found: ['没有这个页面', 'No such page'],
		// overview
		stat_children: ['在册农村留守儿童', 'Children on the ledger'],
		stat_without_guardian: ['未落实有效监护', 'Without a valid guardian'],
		stat_assessments_due: ['待评估', 'Assessments due'],
		stat_assessments_overdue: ['评估超期', 'Assessments overdue'],
		stat_open_reports: ['未结强制报告', 'Open mandatory reports'],
		stat_overdue_reports: ['超时强制报告', 'Overdue reports'],
		stat_dropouts: ['辍学', 'Dropouts'],
		stat_services_open: ['在办帮扶服务', 'Open service plans'],
		stat_tasks_open: ['待办任务', 'Open tasks'],
		stat_tasks_overdue: ['超期任务', 'Overdue tasks'],
		by_guardian_type: ['监护类型', 'By guardian type'],
		by_mode: ['帮扶方式', 'By mode of assistance'],
		trend_title: ['近12个月趋势', 'Last 12 months'],
		trend_filed: ['新建档', 'Filed'],
		trend_reports: ['强制报告', 'Reports'],
		trend_assessments: ['评估', 'Assessments'],
		trend_visits: ['走访', 'Visits'],
		trend_range: ['{0}至{1}，按月统计；柱上数字为当月数量，标题旁为12个月合计', '{0} to {1}, by month; the number by each title is the 12-month total'],
		dist_title: ['下级单位分布', 'Units below'],
		dist_more: ['仅显示前{0}个，共{1}个', 'top {0} of {1} shown'],
		units_title: ['下级单位', 'Units below'],
		unit_name: ['单位', 'Unit'],
		unit_code: ['区划代码', 'Code'],
		children_title: ['本村农村留守儿童', 'Children of this village'],
		open_reports_title: ['未结强制报告', 'Open mandatory reports'],
		no_units: ['没有下级单位的数据', 'No units below'],
		no_data: ['暂无数据', 'No data'],
		// children
		children_list: ['儿童台账', 'The ledger'],
		search_placeholder: ['姓名或身份证号', 'name or ID number'],
		search: ['查询', 'Search'],
		status_active: ['在册', 'active'],
		status_removed: ['已移出', 'removed'],
		status_all: ['全部', 'all'],
		col_name: ['姓名', 'Name'],
		col_sex: ['性别', 'Sex'],
		col_birth: ['出生日期', 'Born'],
		col_village: ['所在村', 'Village'],
		col_guardian: ['监护类型', 'Guardian'],
		col_mode: ['帮扶方式', 'Mode'],
		col_status: ['状态', 'Status'],
		key_child: ['重点', 'key'],
		more_children: ['结果过多，仅显示前500名，请缩小查询范围。', 'Only the first 500 are shown: narrow the search.'],
		no_children: ['没有符合条件的儿童', 'No children found'],
		// child file
		edit_child: ['修改档案', 'Edit file'],
		edit_guardian: ['登记/修改监护人', 'Record guardian'],
		add_visit: ['登记走访', 'Add visit'],
		add_contact: ['登记亲情联系', 'Add contact'],
		add_assessment: ['登记评估', 'Add assessment'],
		add_report: ['强制报告', 'Mandatory report'],
		add_schooling: ['学籍变动', 'Schooling change'],
		add_service: ['帮扶服务', 'Service'],
		add_intervention: ['监护干预', 'Intervention'],
		add_unreported: ['知情不报', 'Not reported'],
		remove_child: ['移出台账', 'Remove'],
		basic_info: ['基本信息', 'Basic information'],
		no_guardian: ['尚未登记监护人', 'No guardian recorded'],
		none_recorded: ['暂无记录', 'None recorded'],
		recorded_by: ['{0} 录入，{1}', 'by {0}, {1}'],
		child_tasks: ['本儿童的任务', "This child's tasks"],
		child_conflicts: ['冲突待裁定', 'Open conflicts'],
		show_id: ['显示', 'show'],
		hide_id: ['隐藏', 'hide'],
		age_years: ['{0}周岁', '{0} years'],
		steps_title: ['应急处置', 'Emergency response'],
		new_child_title: ['新建儿童档案', 'File a new child'],
		edit_child_title: ['修改儿童档案', "Edit the child's file"],
		group_basic: ['基本信息', 'Basic'],
		group_parents: ['父母情况', 'Parents'],
		group_school: ['就学与健康', 'School and health'],
		group_other: ['其他', 'Other'],
		form_for: ['{0}：{1}', '{0}: {1}'],
		// tasks
		tasks_title: ['工作任务', 'Tasks'],
		only_overdue: ['仅看超期', 'Overdue only'],
		owner_all: ['全部责任方', 'Everyone'],
		col_due: ['期限', 'Due'],
		col_task: ['事项', 'Task'],
		col_child: ['儿童', 'Child'],
		col_responsible: ['责任方', 'Must act'],
		col_escalated: ['已提级至', 'Raised to'],
		col_missing: ['缺少', 'Missing'],
		col_state: ['状态', 'State'],
		overdue_days: ['超期{0}天', '{0} d overdue'],
		overdue_hours: ['超期{0}小时', '{0} h overdue'],
		in_time: ['未到期', 'in time'],
		show_all: ['显示全部 {0} 项', 'Show all {0}'],
		tasks_summary: ['共 {0} 项，其中超期 {1} 项', '{0} open, {1} overdue'],
		no_tasks: ['没有待办任务', 'No open tasks'],
		resp_village: ['村', 'village'],
		resp_township: ['乡镇', 'township'],
		resp_county: ['县', 'county'],
		resp_police: ['公安', 'police'],
		resp_school: ['学校', 'school'],
		// reports
		reports_title: ['强制报告', 'Mandatory reports'],
		only_open: ['仅看未结', 'Open only'],
		col_situation: ['报告情形', 'Situation'],
		col_filed: ['报告时间', 'Filed'],
		col_accepted: ['受理时间', 'Accepted'],
		col_age: ['已过时长', 'Age'],
		col_deadline: ['时限', 'Deadline'],
		col_steps: ['已处置环节', 'Steps done'],
		col_actions: ['操作', 'Actions'],
		closed: ['已办结', 'closed'],
		not_accepted: ['未受理', 'not accepted'],
		record_step: ['记录处置', 'Record a step'],
		no_reports: ['没有强制报告', 'No mandatory reports'],
		hours_left: ['剩余{0}', '{0} left'],
		hours_over: ['超时{0}', '{0} overdue'],
		// conflicts
		conflicts_title: ['冲突待裁定', 'Conflicts to decide'],
		conflicts_note: ['同一字段在不同节点被同时修改，系统未自动取舍。请核实后选用其中一个值。', 'The same field was changed on two nodes at once; nothing was chosen silently. Check, then choose one value.'],
		col_kind: ['记录', 'Record'],
		col_field: ['字段', 'Field'],
		col_value_a: ['取值一', 'Value 1'],
		col_value_b: ['取值二', 'Value 2'],
		choose_this: ['选用此值', 'Choose this'],
		no_conflicts: ['没有冲突待裁定', 'No open conflicts'],
		resolved: ['已裁定', 'Decided'],
		// sync
		sync_title: ['同步与隔离', 'Sync and quarantine'],
		parent_link: ['与上级节点', 'With the parent node'],
		below_title: ['下级节点同步情况', 'Nodes below'],
		col_peer: ['节点', 'Node'],
		col_last_contact: ['最后联系', 'Last contact'],
		col_since: ['距今', 'Since'],
		col_ops: ['操作数', 'Ops'],
		col_newest: ['最新操作', 'Newest op'],
		col_quarantined: ['隔离', 'Quarantined'],
		col_pending: ['待上传', 'Waiting'],
		col_last_synced: ['最后同步', 'Last synced'],
		col_error: ['错误', 'Error'],
		quarantine_title: ['隔离区', 'Quarantine'],
		quarantine_note: ['以下操作未通过校验，已隔离保存，未写入台账。', 'These ops failed the checks: kept aside, not applied.'],
		col_reason: ['原因', 'Reason'],
		col_received: ['接收时间', 'Received'],
		no_quarantine: ['隔离区为空', 'Nothing quarantined'],
		no_below: ['尚无下级节点同步记录', 'No node below has synced yet'],
		no_parents: ['本节点没有上级节点', 'This node has no parent'],
		ago_min: ['{0}分钟前', '{0} min ago'],
		ago_hour: ['{0}小时前', '{0} h ago'],
		ago_day: ['{0}天前', '{0} d ago'],
		just_now: ['刚刚', 'just now'],
		never: ['从未', 'never'],
		// export
		export_title: ['导出导入', 'Export and import'],
		export_ledger: ['台账导出', 'Ledger'],
		export_meeting: ['联席会议报表', 'Joint meeting report'],
		export_csv: ['CSV 文件', 'CSV file'],
		export_xls: ['Excel 表格（.xls）', 'Excel (.xls)'],
		export_status: ['范围', 'Which'],
		date_from: ['起始日期', 'From'],
		date_to: ['截止日期', 'To'],
		import_title: ['导入乡镇台账（CSV）', "Import a township's ledger (CSV)"],
		import_note: ['第一行为中文表头，与导出的台账格式一致。默认任一行有误则整个文件不导入，并指出行号和列名。', 'The first row holds the Chinese headers, as in the export. By default one bad row refuses the whole file, naming the row and column.'],
		import_file: ['CSV 文件', 'CSV file'],
		import_encoding: ['编码', 'Encoding'],
		enc_auto: ['自动识别', 'detect'],
		skip_bad: ['跳过有误的行，导入其余行', 'skip bad rows, import the rest'],
		import_submit: ['上传并导入', 'Upload and import'],
		import_busy: ['正在导入…', 'Importing…'],
		import_done: ['导入完成：导入{0}行，跳过{1}行', 'Imported {0} rows, skipped {1}'],
		import_rows: ['（共读取{0}行）', ' ({0} rows read)'],
		import_pick: ['请选择文件', 'Choose a file'],
		sensitive_note: ['导出文件含儿童个人信息，请妥善保管，不得外传。', "Exports hold children's personal data: keep them safe."],
		// remove
		remove_title: ['移出台账', 'Remove from the ledger'],
		report_urgent: ['强制报告为紧急事项，将优先于其他数据报送乡镇、公安和县民政。', 'A mandatory report is urgent: it travels ahead of all other data to the township, the police and the county.'],
		no_model: ['无法读取数据字典（/api/model），表单无法生成。', 'Cannot read the data dictionary (/api/model): no forms.'],
		no_changes: ['没有修改任何内容', 'Nothing was changed'],
		update: ['更新', 'Update'],
		// hotline (R11.2)
		hotline_title: ['热线来电', 'Hotline calls'],
		hotline_new: ['登记来电', 'Record a call'],
		hotline_new_title: ['登记热线来电', 'Record a hotline call'],
		hotline_summary: ['共 {0} 条来电，待办 {1} 条，其中涉及强制报告情形 {2} 条', '{0} calls, {1} to handle, {2} of them on a mandatory-report situation'],
		hotline_more: ['仅显示最近500条来电', 'Only the newest 500 calls are shown'],
		hotline_child: ['涉及儿童（已建档时选择）', 'Child (when on the ledger)'],
		hotline_child_none: ['— 未建档或不确定 —', '— not on the ledger / unknown —'],
		hotline_child_pick_village: ['先选择所涉村（居）', 'choose the village first'],
		hotline_urgent_note: ['涉及强制报告情形的来电为紧急事项：优先报送上级，须在{0}内核查处置（R11.2、R5.2）。', 'A call on a mandatory-report situation is urgent: it travels first, and must be acted on within {0} (R11.2, R5.2).'],
		hotline_urgent: ['紧急', 'urgent'],
		handle_call: ['办结', 'Mark handled'],
		col_call_at: ['来电时间', 'Received'],
		col_call_situation: ['强制报告情形', 'Mandatory-report situation'],
		taken_by: ['接听：{0}', 'taken by {0}'],
		col_caller: ['来电人', 'Caller'],
		col_content: ['来电内容', 'What was asked'],
		col_handling: ['办理情况', 'Handling'],
		only_open_calls: ['仅看待办', 'To handle only'],
		no_calls: ['没有热线来电', 'No hotline calls'],
		child_prefix: ['儿童：', 'Child: '],
		// services and interventions
		services_title: ['帮扶服务', 'Services'],
		interventions_title: ['监护干预案件', 'Guardianship intervention cases'],
		records_more: ['仅显示最近500条', 'Only the newest 500 are shown'],
		records_note_service: ['新的帮扶服务在儿童档案中登记；此处列出本单位的全部服务，在办的在前。', "New services are recorded in a child's file; here are all of the unit's services, open ones first."],
		records_note_intervention: ['新的干预案件在儿童档案中登记；此处列出本单位的全部案件，未结的在前。', "New cases are opened in a child's file; here are all of the unit's cases, open ones first."],
		filter_all: ['全部', 'all'],
		filter_open: ['在办/未结', 'open'],
		col_updated: ['最近更新', 'Last change'],
		follow_up_overdue: ['已过跟进日期', 'follow-up date passed'],
		no_records: ['暂无记录', 'Nothing recorded'],
		unknown_child: ['档案 {0}', 'file {0}'],
		update_title: ['更新{0}', 'Update: {0}'],
		record_not_found: ['档案中没有这条记录', 'No such record in the file'],
		// deadlines (R6, R10)
		deadlines_title: ['处置时限', 'Deadlines'],
		deadlines_note: ['各项处置时限由县民政部门根据县联席会议决定设定，全县各级节点统一执行。', "The deadlines are set by the county's civil affairs, following the county's joint meeting; every node of the county keeps them."],
		deadlines_readonly: ['仅县级节点的县民政用户可以修改时限。', "Only the county's civil affairs, on the county node, can change them."],
		col_item: ['事项', 'Item'],
		col_hours: ['现行时限', 'In force'],
		col_default: ['默认时限', 'Default'],
		changed: ['已调整', 'changed'],
		as_default: ['默认', 'default'],
		change_deadline: ['修改', 'Change'],
		hours_exact: ['{0}（{1}小时）', '{0} ({1} h)'],
		// move (R3.1)
		move_child: ['迁移', 'Move'],
		move_title: ['迁移到本辖区其他村（居）', 'Move to another village'],
		move_note: ['儿童随家庭迁往本辖区内另一村（居）时办理（R3.1）。须由同时管辖迁出村和迁入村的节点办理。', 'When the child moves with the family to another village of this jurisdiction (R3.1): done by a node holding both villages.'],
		move_current: ['现所在村（居）：{0}', 'Now at: {0}'],
		move_to: ['迁入村（居）', 'Move to'],
		move_township: ['乡镇（街道）', 'Township'],
		move_submit: ['确认迁移', 'Move the child'],
		moved: ['已迁移：{0} → {1}', 'Moved: {0} → {1}'],
		current_mark: ['（当前）', ' (now)'],
		units_unreadable: ['无法读取下级区划，请直接输入12位区划代码。', 'Cannot read the units below: type the 12-digit code.'],
	};

	const LANG_KEY = 'carenode.lang';
	let lang = readLang();

	function readLang() {
		try {
			return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh';
		} catch (e) {
			return 'zh';
		}
	}

	/* The interface text for key, with {0}, {1}… replaced by args. */
	function t(key, ...args) {
		const pair = TEXT[key];
		let s = pair ? pair[lang === 'en' ? 1 : 0] : key;
		args.forEach((a, i) => {
			s = s.split('{' + i + '}').join(String(a));
		});
		return s;
	}

	/* A model object's label ({zh, en}) in the current language. */
	function label(o) {
		if (!o) return '';
		return (lang === 'en' ? o.en || o.zh : o.zh || o.en) || o.name || o.code || '';
	}

	/* ------------------------------------------------------------------ */
	/* DOM helpers                                                          */
	/* ------------------------------------------------------------------ */

	const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'htmlFor', 'selected', 'required', 'multiple', 'readOnly']);

	/*
	 * Builds an element. props: class, text, dataset, on (event handlers)
	 * and attributes; children are nodes, strings (as text) or arrays.
	 * Inline styles and on* attributes are refused (the CSP blocks them).
	 */
	function h(tag, props, ...children) {
		const el = document.createElement(tag);
		setProps(el, props);
		append(el, children);
		return el;
	}

	function setProps(el, props) {
		if (!props) return;
		for (const [k, v] of Object.entries(props)) {
			if (v === null || v === undefined || v === false) continue;
			if (k === 'class') el.setAttribute('class', v);
			else if (k === 'text') el.textContent = String(v);
			else if (k === 'dataset') Object.assign(el.dataset, v);
			else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
			else if (PROPS.has(k)) el[k] = v;
			else if (k === 'style' || /^on/i.test(k)) throw new Error('refused attribute ' + k);
			else el.setAttribute(k, v === true ? '' : String(v));
		}
	}

	function append(el, children) {
		for (const c of children) {
			if (c === null || c === undefined || c === false) continue;
			if (Array.isArray(c)) append(el, c);
			else el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
		}
	}

	const SVG_NS = 'http://www.w3.org/2000/svg';

	/* An SVG element; attrs are set as attributes (presentation only). */
	function s(tag, attrs, ...children) {
		const el = document.createElementNS(SVG_NS, tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			if (v === null || v === undefined) continue;
			if (k === 'text') el.textContent = String(v);
			else if (k === 'style' || /^on/i.test(k)) throw new Error('refused attribute ' + k);
			else el.setAttribute(k, String(v));
		}
		append(el, children);
		return el;
	}

	function clear(el) {
		while (el.firstChild) el.removeChild(el.firstChild);
		return el;
	}

	/* An in-app link: only hashes and same-origin API paths are built. */
	function link(href, text, cls) {
		if (!/^#\//.test(href) && !/^\/api\//.test(href)) throw new Error('bad link ' + href);
		return h('a', { href, class: cls || null, text });
	}

	function tableWrap(table) {
		return h('div', { class: 'table-wrap' }, table);
	}

	/* A table: head is a list of texts, rows a list of <tr> elements. */
	function table(id, head, rows, empty) {
		const tbody = h('tbody', null, rows);
		if (!rows.length)
			tbody.appendChild(h('tr', { class: 'empty' }, h('td', { colspan: head.length, text: empty || t('no_data') })));
		return tableWrap(h('table', { id, class: 'data' }, h('thead', null, h('tr', null, head.map((x) => h('th', { scope: 'col', text: x })))), tbody));
	}

	/* A table that a phone shows as one card per row: each cell labelled
	 * with its column's head (app.css, table.stack); empty cells left out. */
	function stacked(wrap) {
		const tbl = wrap.querySelector('table');
		if (!tbl || !tbl.tHead) return wrap;
		tbl.classList.add('stack');
		const heads = Array.from(tbl.tHead.rows[0].cells).map((c) => c.textContent);
		for (const tr of tbl.tBodies[0].rows) {
			if (tr.classList.contains('empty')) continue;
			Array.from(tr.cells).forEach((c, i) => {
				c.dataset.label = heads[i] || '';
				if (!c.textContent.trim() && !c.querySelector('a, button, input, select')) c.classList.add('blank');
			});
		}
		return wrap;
	}

	function td(content, cls) {
		return h('td', { class: cls || null }, content === null || content === undefined || content === '' ? t('dash') : content);
	}

	function section(title, ...children) {
		return h('section', { class: 'panel' }, title ? h('h3', { class: 'panel-title', text: title }) : null, children);
	}

	function notice(text, kind) {
		return h('div', { class: 'notice ' + (kind || 'info'), role: kind === 'error' ? 'alert' : 'status', text });
	}

	/* ------------------------------------------------------------------ */
	/* Dates and times. The node speaks China time: YYYY-MM-DD and          */
	/* YYYY-MM-DD HH:MM.                                                    */
	/* ------------------------------------------------------------------ */

	const CHINA_OFFSET_MS = 8 * 3600 * 1000;

	function pad2(n) {
		return String(n).padStart(2, '0');
	}

	/* 2026-11-30 → 2026年11月30日 (in English: 2026-11-30). */
	function fmtDate(v) {
		const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(v || '');
		if (!m) return v || '';
		if (lang === 'en') return m[1] + '-' + m[2] + '-' + m[3];
		return m[1] + '年' + Number(m[2]) + '月' + Number(m[3]) + '日';
	}

	/* 2026-11-30 14:05 → 2026年11月30日 14:05. */
	function fmtTime(v) {
		const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})/.exec(v || '');
		if (!m) return fmtDate(v);
		return fmtDate(m[1]) + ' ' + m[2] + ':' + m[3];
	}

	/* Milliseconds since 1970 of a China date or time, or NaN. */
	function parseChina(v) {
		const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(v || '');
		if (!m) return NaN;
		return Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0)) - CHINA_OFFSET_MS;
	}

	/* Today in China, YYYY-MM-DD. */
	function todayChina() {
		return new Date(Date.now() + CHINA_OFFSET_MS).toISOString().slice(0, 10);
	}

	function nowChinaInput() {
		return new Date(Date.now() + CHINA_OFFSET_MS).toISOString().slice(0, 16);
	}

	/* 95 → "1小时前"; minutes since something. */
	function fmtAgo(minutes) {
		if (minutes === null || minutes === undefined || isNaN(minutes) || minutes < 0) return t('never');
		if (minutes < 1) return t('just_now');
		if (minutes < 60) return t('ago_min', Math.floor(minutes));
		if (minutes < 48 * 60) return t('ago_hour', Math.floor(minutes / 60));
		return t('ago_day', Math.floor(minutes / 1440));
	}

	/* A duration in hours as "25分钟" / "3小时" / "2天5小时". */
	function fmtHours(hours) {
		if (hours < 1) {
			const min = Math.max(0, Math.floor(hours * 60));
			return lang === 'en' ? min + ' min' : min + '分钟';
		}
		const hrs = Math.round(hours);
		const d = Math.floor(hrs / 24), r = hrs % 24;
		if (lang === 'en') return d ? d + ' d ' + r + ' h' : r + ' h';
		return d ? d + '天' + (r ? r + '小时' : '') : r + '小时';
	}

	function ageYears(birth) {
		const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(birth || '');
		if (!m) return null;
		const today = todayChina();
		let age = +today.slice(0, 4) - +m[1];
		if (today.slice(5) < m[2] + '-' + m[3]) age--;
		return age;
	}

	/* ------------------------------------------------------------------ */
	/* The API                                                              */
	/* ------------------------------------------------------------------ */

	class ApiError extends Error {
		constructor(status, code, message) {
			super(message);
			this.status = status;
			this.code = code;
		}
	}

	const state = {
		session: null, // GET /api/session
		model: null, // GET /api/model, kinds by name
		deadlines: null,
		overviews: new Map(), // unit code → Promise of GET /api/overview, for names and villages
		back: null, // where an update form returns to
		flash: null, // a message for the next page
		syncTimer: 0,
		seq: 0, // the current render; older renders stop
	};

	/*
	 * Calls the API. opts: params (query), form (an object or
	 * URLSearchParams, sent form-urlencoded), file (a raw body sent as
	 * text/csv). Answers the parsed JSON; throws ApiError with the
	 * server's message verbatim.
	 */
	async function api(method, path, opts) {
		opts = opts || {};
		let url = path;
		if (opts.params) {
			const q = new URLSearchParams();
			for (const [k, v] of Object.entries(opts.params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
			const qs = q.toString();
			if (qs) url += '?' + qs;
		}
		const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
		if (method === 'POST') {
			if (state.session) init.headers['X-CSRF-Token'] = state.session.csrf;
			if (opts.file) {
				init.headers['Content-Type'] = 'text/csv';
				init.body = opts.file;
			} else {
				init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
				init.body = (opts.form instanceof URLSearchParams ? opts.form : new URLSearchParams(opts.form || {})).toString();
			}
		}
		let res;
		try {
			res = await fetch(url, init);
		} catch (e) {
			throw new ApiError(0, 'network', t('error_network'));
		}
		let data = null;
		try {
			data = await res.json();
		} catch (e) {
			data = null;
		}
		if (!res.ok) {
			const err = data && data.error;
			const apiErr = new ApiError(res.status, (err && err.code) || 'http', (err && err.message) || res.status + ' ' + res.statusText);
			if (res.status === 401 && path !== '/api/login' && state.session) sessionLost();
			throw apiErr;
		}
		return data;
	}

	/* An array answer, whether sent bare or inside an object under key. */
	function listOf(data, key) {
		if (Array.isArray(data)) return data;
		if (data && Array.isArray(data[key])) return data[key];
		return [];
	}

	/* ------------------------------------------------------------------ */
	/* The data dictionary (GET /api/model)                                 */
	/* ------------------------------------------------------------------ */

	async function loadModel() {
		if (state.model) return state.model;
		const data = await api('GET', '/api/model');
		const kinds = {};
		for (const k of listOf(data, 'kinds')) {
			const fields = {};
			for (const f of k.fields || []) fields[f.name] = f;
			kinds[k.name] = Object.assign({}, k, { byName: fields });
		}
		state.model = kinds;
		return kinds;
	}

	function kindDef(kind) {
		return (state.model && state.model[kind]) || null;
	}

	function fieldDef(kind, name) {
		const k = kindDef(kind);
		return (k && k.byName[name]) || null;
	}

	function kindLabel(kind) {
		const k = kindDef(kind);
		const text = k ? label(k) : kind;
		return lang === 'en' ? text.charAt(0).toUpperCase() + text.slice(1) : text;
	}

	function fieldLabel(kind, name, fallbackZh) {
		const f = fieldDef(kind, name);
		return f ? label(f) : fallbackZh || name;
	}

	/* The label of an enum code; the code itself when unknown. */
	function enumLabel(kind, name, code) {
		if (code === null || code === undefined || code === '') return '';
		const f = fieldDef(kind, name);
		const v = f && (f.values || []).find((x) => x.code === code);
		return v ? label(v) : String(code);
	}

	/* A value of a field, as shown to people. */
	function displayValue(f, value, serverLabel) {
		if (value === null || value === undefined || value === '') return '';
		if (!f) return serverLabel || String(value);
		switch (f.type) {
			case 'enum': {
				const v = (f.values || []).find((x) => x.code === value);
				return v ? label(v) : serverLabel || String(value);
			}
			case 'bool':
				return value === true || value === 1 || value === '1' || value === 'true' || value === '是' ? t('yes') : t('no');
			case 'date':
				return fmtDate(String(value));
			case 'time':
				return fmtTime(String(value));
			default:
				return String(value);
		}
	}

	/* ------------------------------------------------------------------ */
	/* Roles. Mirrors cn_account_may_write (node/accounts.c); the node      */
	/* checks again on every write, this only hides what would be refused.  */
	/* ------------------------------------------------------------------ */

	const KEEPERS = ['liaison', 'committee', 'officer', 'civil_affairs'];
	const WRITERS = {
		report: KEEPERS.concat(['department', 'school', 'clinic']),
		child: KEEPERS,
		guardian: KEEPERS,
		assessment: KEEPERS,
		visit: KEEPERS,
		contact: KEEPERS,
		unreported: KEEPERS,
		hotline: KEEPERS,
		remove: KEEPERS,
		response: ['officer', 'civil_affairs', 'department'],
		intervention: ['committee', 'officer', 'civil_affairs', 'department'],
		service: KEEPERS.concat(['department']),
		schooling: KEEPERS.concat(['department', 'school']),
		resolve: ['officer', 'civil_affairs'],
		import: KEEPERS,
		deadline: ['civil_affairs'],
	};

	/* The people who keep the ledger (R3.1): they see conflicts and exports. */
	function keeper() {
		return KEEPERS.includes(state.session && state.session.role);
	}

	function may(kind) {
		const role = state.session && state.session.role;
		return !!role && (WRITERS[kind] || []).includes(role);
	}

	function level() {
		return (state.session && state.session.level) || 'village';
	}

	const ROLE_FALLBACK = {
		liaison: ['村关爱联络员', 'village liaison'],
		committee: ['村（居）委会', 'village committee'],
		officer: ['乡镇专干', 'township officer'],
		civil_affairs: ['县民政', 'county civil affairs'],
		department: ['部门工作人员', 'department staff'],
		school: ['学校报告人', 'school reporter'],
		clinic: ['医疗机构报告人', 'clinic reporter'],
	};

	function roleLabel(role) {
		const fromModel = enumLabel('person', 'role', role);
		if (fromModel && fromModel !== role) return fromModel;
		const f = ROLE_FALLBACK[role];
		return f ? f[lang === 'en' ? 1 : 0] : role;
	}

	function respLabel(who) {
		return TEXT['resp_' + who] ? t('resp_' + who) : who;
	}

	/* The digits that a division code's own area is known by:
	 * 370522000000 → 370522, 370522101000 → 370522101. */
	function divisionPrefix(code) {
		code = String(code || '');
		if (/^\d{12}$/.test(code)) {
			if (code.endsWith('000000')) return code.slice(0, 6);
			if (code.endsWith('000')) return code.slice(0, 9);
		}
		return code;
	}

	function unitLevel(code) {
		code = String(code || '');
		if (code.endsWith('000000')) return 'county';
		if (code.endsWith('000')) return 'township';
		return 'village';
	}

	/* ------------------------------------------------------------------ */
	/* The frame: header, navigation, main                                  */
	/* ------------------------------------------------------------------ */

	const root = () => document.getElementById('app');
	let mainEl = null;

	/* The menu: the daily pages, then under "more" the rarely used ones
	 * (the sync indicator in the header also opens #/sync). */
	function navItems() {
		const items = [];
		const lv = level();
		const overview = { hash: '#/overview', key: 'nav_overview' };
		const tasks = { hash: '#/tasks', key: 'nav_tasks' };
		if (lv === 'village') items.push(tasks, overview);
		else items.push(overview, tasks);
		items.push({ hash: '#/children', key: 'nav_children' });
		if (may('child')) items.push({ hash: '#/child/new', key: 'nav_new_child' });
		items.push({ hash: '#/reports', key: 'nav_reports' });
		if (may('hotline')) items.push({ hash: '#/hotline', key: 'nav_hotline' });
		if (may('service')) items.push({ hash: '#/services', key: 'nav_services' });
		if (may('intervention')) items.push({ hash: '#/interventions', key: 'nav_interventions' });
		if (keeper()) items.push({ hash: '#/conflicts', key: 'nav_conflicts', more: true });
		items.push({ hash: '#/sync', key: 'nav_sync', more: true });
		if (keeper()) items.push({ hash: '#/export', key: 'nav_export', more: true });
		items.push({ hash: '#/deadlines', key: 'nav_deadlines', more: true });
		return items;
	}

	function personText(se) {
		const who = se.person || se.login || '';
		const role = roleLabel(se.role);
		return lang === 'en' ? who + ' (' + role + ')' : who + '（' + role + '）';
	}

	function defaultHash() {
		return level() === 'village' ? '#/tasks' : '#/overview';
	}

	function renderFrame() {
		const se = state.session;
		document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
		document.title = t('app_title');
		const levelKey = 'level_' + se.level;
		const items = navItems();
		const li = (it) => h('li', null, link(it.hash, t(it.key), 'nav-link'));
		const more = items.filter((it) => it.more);
		const moreMenu = more.length ? h('li', { class: 'nav-more' },
			h('details', { id: 'nav-more' },
				h('summary', { class: 'nav-link', text: t('nav_more') }),
				h('ul', { class: 'nav-sub' }, more.map(li)))) : null;
		const nav = h('nav', { id: 'nav', class: 'nav', 'aria-label': t('menu') },
			h('ul', null, items.filter((it) => !it.more).map(li), moreMenu));
		const navToggle = h('button', {
			type: 'button', id: 'nav-toggle', class: 'nav-toggle', 'aria-controls': 'nav', 'aria-expanded': 'false',
			on: { click: () => toggleNav() },
		}, h('span', { class: 'burger', 'aria-hidden': 'true' }), t('menu'));
		const header = h('header', { class: 'topbar' },
			h('div', { class: 'topbar-inner' },
				h('div', { class: 'brand' },
					h('span', { class: 'emblem', 'aria-hidden': 'true', text: '护' }),
					h('div', { class: 'brand-text' },
						h('span', { class: 'brand-title', text: t('app_title') }),
						h('span', { class: 'brand-unit', text: (se.name || se.code || '') + ' · ' + (TEXT[levelKey] ? t(levelKey) : se.level) }))),
				h('div', { class: 'tools' },
					h('a', { id: 'sync-indicator', class: 'sync-indicator unknown', href: '#/sync', title: t('sync_unknown') },
						h('span', { class: 'dot', 'aria-hidden': 'true' }), h('span', { class: 'sync-text', text: t('sync_unknown') })),
					h('span', { id: 'whoami', class: 'whoami', title: [personText(se), se.login, se.unit].filter(Boolean).join(' · ') },
						h('span', { class: 'whoami-name', text: se.person || se.login || '' }),
						h('span', { class: 'whoami-role', text: personText(se).slice((se.person || se.login || '').length) })),
					h('button', { type: 'button', id: 'lang-toggle', class: 'btn-plain', lang: lang === 'en' ? 'zh-CN' : 'en', text: t('lang_other'), on: { click: toggleLang } }),
					h('button', { type: 'button', id: 'logout', class: 'btn-plain', text: t('logout'), on: { click: logout } }),
					navToggle)),
			nav);
		mainEl = h('main', { id: 'main', class: 'main', tabindex: '-1' });
		clear(root()).append(header, mainEl, h('footer', { class: 'footer', text: t('login_note') }));
	}

	const PHONE_MEDIA = '(max-width: 760px)';

	function toggleNav(open) {
		const nav = document.getElementById('nav');
		const btn = document.getElementById('nav-toggle');
		if (!nav || !btn) return;
		const want = open === undefined ? !nav.classList.contains('open') : open;
		nav.classList.toggle('open', want);
		btn.setAttribute('aria-expanded', want ? 'true' : 'false');
		/* on a phone the opened menu lists everything; elsewhere "more"
		 * closes with each page */
		const more = document.getElementById('nav-more');
		if (more) more.open = want && window.matchMedia(PHONE_MEDIA).matches;
	}

	/* "More" closes on a click elsewhere and on Escape. */
	function closeMoreOn(ev) {
		const more = document.getElementById('nav-more');
		if (!more || !more.open || window.matchMedia(PHONE_MEDIA).matches) return;
		if (ev.type === 'keydown' ? ev.key === 'Escape' : !more.contains(ev.target)) more.open = false;
	}

	function markNav() {
		const hash = location.hash || '';
		for (const a of document.querySelectorAll('#nav a')) {
			const href = a.getAttribute('href');
			const on = hash === href || (href !== '#/child/new' && hash.startsWith(href + '/'));
			a.classList.toggle('active', on);
			if (on) a.setAttribute('aria-current', 'page');
			else a.removeAttribute('aria-current');
		}
		const summary = document.querySelector('#nav-more > summary');
		if (summary) summary.classList.toggle('active', !!document.querySelector('#nav-more a.active'));
	}

	function toggleLang() {
		lang = lang === 'en' ? 'zh' : 'en';
		try {
			localStorage.setItem(LANG_KEY, lang);
		} catch (e) {
			/* private mode: the choice lasts the page */
		}
		if (state.session) {
			renderFrame();
			refreshSync();
			route();
		} else {
			showLogin();
		}
	}

	/* ------------------------------------------------------------------ */
	/* The sync indicator (GET /api/sync), every minute                     */
	/* ------------------------------------------------------------------ */

	const DAY_MINUTES = 24 * 60;

	/* A time as short as is clear: 14:05 today, else 11月28日 14:05. */
	function shortTime(ms) {
		const china = new Date(ms + CHINA_OFFSET_MS).toISOString();
		const day = china.slice(0, 10), hm = china.slice(11, 16);
		if (day === todayChina()) return hm;
		return lang === 'en' ? day.slice(5) + ' ' + hm : Number(day.slice(5, 7)) + '月' + Number(day.slice(8, 10)) + '日 ' + hm;
	}

	/*
	 * The health of this node's link up, from GET /api/sync: green when
	 * synced, amber when items wait to go up, red on an error or when the
	 * parent has not been reached for a day (or ever). The text names the
	 * last sync; the title gives the details.
	 */
	function syncHealth(sync) {
		const parents = listOf(sync && sync.parents, 'parents');
		const pending = Number((sync && sync.pending_up) || 0);
		if (!parents.length) {
			if (level() === 'county') return { cls: pending ? 'amber' : 'green', text: t('sync_top'), detail: '' };
			return { cls: 'red', text: t('sync_never'), detail: '' };
		}
		let newest = NaN, error = '';
		for (const p of parents) {
			const ms = parseChina(p.last_synced);
			if (!isNaN(ms) && (isNaN(newest) || ms > newest)) newest = ms;
			if (p.last_error) error = p.last_error;
		}
		if (isNaN(newest)) return { cls: 'red', text: t('sync_never'), detail: error };
		const when = shortTime(newest);
		const detail = t('sync_last', fmtTime(new Date(newest + CHINA_OFFSET_MS).toISOString().slice(0, 16))) +
			(pending ? '\n' + t('sync_pending', pending) : '');
		if (error) return { cls: 'red', text: t('sync_error'), detail: detail + '\n' + error };
		if (Date.now() - newest > DAY_MINUTES * 60000) return { cls: 'red', text: t('sync_stale') + ' · ' + when, detail };
		if (pending > 0) return { cls: 'amber', text: t('sync_pending', pending) + ' · ' + when, detail };
		return { cls: 'green', text: t('sync_ok') + ' · ' + when, detail };
	}

	function paintSync(health) {
		const el = document.getElementById('sync-indicator');
		if (!el) return;
		el.className = 'sync-indicator ' + health.cls;
		el.querySelector('.sync-text').textContent = health.text;
		el.title = health.detail ? health.text + '\n' + health.detail : health.text;
		el.dataset.state = health.cls;
	}

	async function refreshSync() {
		try {
			paintSync(syncHealth(await api('GET', '/api/sync')));
		} catch (e) {
			/* 403: the sync is for the node's own level (a village's person on
			 * a township's node): not an error of the link */
			if (e.status === 404 || e.status === 403) paintSync({ cls: 'unknown', text: t('sync_unknown'), detail: e.message });
			else paintSync({ cls: 'red', text: e.code === 'network' ? t('sync_offline') : t('sync_error'), detail: e.message });
		}
	}

	function startSyncTimer() {
		clearInterval(state.syncTimer);
		refreshSync();
		state.syncTimer = setInterval(refreshSync, 60000);
	}

	/* ------------------------------------------------------------------ */
	/* Login and session                                                    */
	/* ------------------------------------------------------------------ */

	function showLogin(message) {
		clearInterval(state.syncTimer);
		document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
		document.title = t('app_title');
		const error = h('div', { id: 'login-error', class: 'form-error', role: 'alert', hidden: !message, text: message || '' });
		const submit = h('button', { type: 'submit', id: 'login-submit', class: 'btn primary wide', text: t('login_submit') });
		const form = h('form', { id: 'login-form', class: 'login-form', autocomplete: 'on', novalidate: true },
			h('h2', { text: t('login_title') }),
			h('label', { for: 'login', text: t('login_name') }),
			h('input', { id: 'login', name: 'login', type: 'text', autocomplete: 'username', autocapitalize: 'off', spellcheck: 'false', required: true }),
			h('label', { for: 'password', text: t('password') }),
			h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
			error, submit);
		form.addEventListener('submit', (ev) => {
			ev.preventDefault();
			doLogin(form, submit, error);
		});
		clear(root()).append(h('div', { class: 'login-page' },
			h('div', { class: 'login-card' },
				h('div', { class: 'login-head' },
					h('span', { class: 'emblem large', 'aria-hidden': 'true', text: '护' }),
					h('h1', { text: t('app_title') })),
				form,
				h('p', { class: 'login-note', text: t('login_note') }),
				h('button', { type: 'button', id: 'lang-toggle', class: 'btn-link', text: t('lang_other'), on: { click: toggleLang } }))));
		document.getElementById('login').focus();
	}

	async function doLogin(form, submit, error) {
		submit.disabled = true;
		submit.textContent = t('login_busy');
		error.hidden = true;
		try {
			await api('POST', '/api/login', { form: { login: form.login.value.trim(), password: form.password.value } });
			form.password.value = '';
			await startSession();
		} catch (e) {
			error.textContent = e.message;
			error.hidden = false;
			submit.disabled = false;
			submit.textContent = t('login_submit');
			form.password.select();
		}
	}

	/* Reads the session; on success draws the frame and the page. */
	async function startSession() {
		state.session = await api('GET', '/api/session');
		try {
			await loadModel();
		} catch (e) {
			state.model = null; // pages that need it will say why
		}
		renderFrame();
		startSyncTimer();
		if (!location.hash || location.hash === '#' || location.hash === '#/') location.replace(defaultHash());
		route();
	}

	function sessionLost() {
		state.session = null;
		state.overviews.clear();
		showLogin();
	}

	async function logout() {
		try {
			await api('POST', '/api/logout');
		} catch (e) {
			/* the session is gone either way */
		}
		state.session = null;
		state.model = null;
		state.deadlines = null;
		state.overviews.clear();
		try {
			sessionStorage.clear(); // the filters chosen in this tab
		} catch (e) {
			/* storage unavailable: nothing kept */
		}
		showLogin();
	}

	/* ------------------------------------------------------------------ */
	/* The router                                                           */
	/* ------------------------------------------------------------------ */

	const ID = '([0-9A-Za-z]+)';
	const EVENT_KINDS = ['guardian', 'visit', 'contact', 'assessment', 'report', 'schooling', 'service', 'intervention', 'unreported', 'remove'];
	const ROUTES = [
		[/^#\/overview(?:\/(\d{6,12}))?$/, viewOverview],
		[/^#\/tasks$/, viewTasks],
		[/^#\/children$/, viewChildren],
		[/^#\/child\/new$/, () => viewChildForm(null)],
		[new RegExp('^#/child/' + ID + '/edit$'), (m) => viewChildForm(m[1])],
		[new RegExp('^#/child/' + ID + '/move$'), viewMove],
		[new RegExp('^#/child/' + ID + '/(service|intervention)/' + ID + '$'), (m) => viewRecordUpdate(m[1], m[2], m[3])],
		[new RegExp('^#/child/' + ID + '/(' + EVENT_KINDS.join('|') + ')$'), (m) => viewEventForm(m[1], m[2])],
		[new RegExp('^#/child/' + ID + '$'), viewChild],
		[/^#\/reports$/, viewReports],
		[/^#\/conflicts$/, viewConflicts],
		[/^#\/sync$/, viewSync],
		[/^#\/export$/, viewExport],
		[/^#\/hotline$/, viewHotline],
		[/^#\/hotline\/new$/, viewHotlineForm],
		[/^#\/services$/, (m, seq) => viewRecords('service', seq)],
		[/^#\/interventions$/, (m, seq) => viewRecords('intervention', seq)],
		[/^#\/deadlines$/, viewDeadlines],
	];

	/* True when a newer page has started since seq was taken. */
	function stale(seq) {
		return seq !== state.seq;
	}

	async function route() {
		if (!state.session || !mainEl) return;
		const hash = location.hash || defaultHash();
		const seq = ++state.seq;
		toggleNav(false);
		markNav();
		const flash = state.flash;
		state.flash = null;
		if (!/^#\/child\/[^/]+\/(service|intervention)\/[^/]+$/.test(hash)) state.back = null; // only an update form returns there
		clear(mainEl).append(h('p', { class: 'loading', text: t('loading') }));
		for (const [re, view] of ROUTES) {
			const m = re.exec(hash);
			if (!m) continue;
			try {
				const page = await view(m, seq);
				if (stale(seq) || !page) return;
				clear(mainEl);
				if (flash) mainEl.append(notice(flash, 'success'));
				mainEl.append(page);
			} catch (e) {
				if (stale(seq)) return;
				if (e.status === 401) return; // the login form is up
				clear(mainEl).append(notice(e.message || t('error_generic'), 'error'));
			}
			return;
		}
		clear(mainEl).append(notice(t('not_found'), 'error'));
	}

	function go(hash, flash) {
		state.flash = flash || null;
		if (location.hash === hash) route();
		else location.hash = hash;
	}

	function pageHead(title, ...extra) {
		return h('div', { class: 'page-head' }, h('h2', { text: title }), extra.length ? h('div', { class: 'page-actions' }, extra) : null);
	}

	/* ------------------------------------------------------------------ */
	/* Charts: hand-drawn SVG                                               */
	/* ------------------------------------------------------------------ */

	const SERIES_COLORS = ['#1f5fa8', '#c2410c', '#15803d', '#7c3aed'];

	/*
	 * Charts are drawn without a viewBox: horizontal positions in percent
	 * of the width, vertical ones in pixels, so text keeps its size from a
	 * 390 px phone to a wide screen.
	 */

	/* One measure's monthly bars. months: [{month: "2026-01", key: n}]. */
	function monthlyBars(months, key, title, color) {
		const H = 132, TOP = 16, BOTTOM = 20, ph = H - TOP - BOTTOM;
		const values = months.map((m) => Number(m[key]) || 0);
		const max = Math.max(1, ...values);
		const slot = 100 / Math.max(1, months.length);
		const svgEl = s('svg', { class: 'chart trend-chart', width: '100%', height: H, role: 'img', 'aria-label': title });
		svgEl.append(s('line', { class: 'baseline', x1: '0', x2: '100%', y1: TOP + ph + 0.5, y2: TOP + ph + 0.5 }));
		months.forEach((m, i) => {
			const v = values[i];
			const bh = Math.round((v / max) * ph);
			const mid = (i * slot + slot / 2).toFixed(2) + '%';
			const mm = /^(\d{4})-(\d{2})/.exec(m.month || '');
			const monthText = mm ? String(Number(mm[2])) : '';
			svgEl.append(
				s('rect', { x: (i * slot + slot * 0.17).toFixed(2) + '%', y: TOP + ph - bh, width: (slot * 0.66).toFixed(2) + '%', height: bh, fill: color, rx: 1 },
					s('title', { text: `${title} ${m.month}: ${v}` })),
				s('text', { class: 'axis', x: mid, y: H - 5, 'text-anchor': 'middle', text: monthText }));
			if (v > 0) svgEl.append(s('text', { class: 'bar-top', x: mid, y: TOP + ph - bh - 4, 'text-anchor': 'middle', text: v }));
		});
		const total = values.reduce((a, b) => a + b, 0);
		return h('figure', { class: 'trend', dataset: { series: key } },
			h('figcaption', null, h('span', { class: 'swatch', 'aria-hidden': 'true' }), title, h('span', { class: 'trend-total', text: String(total) })),
			svgEl);
	}

	/* The last 12 months, one small chart per measure, each on its own
	 * scale (a month of many new files would flatten the rest). */
	function trendCharts(months) {
		const keys = ['filed', 'reports', 'assessments', 'visits'];
		const figs = keys.map((k, i) => {
			const fig = monthlyBars(months, k, t('trend_' + k), SERIES_COLORS[i]);
			fig.querySelector('.swatch').style.background = SERIES_COLORS[i];
			return fig;
		});
		const first = months[0] && months[0].month, last = months.length && months[months.length - 1].month;
		return h('div', null, h('div', { class: 'trends' }, figs),
			first ? h('p', { class: 'muted small', text: t('trend_range', fmtMonth(first), fmtMonth(last)) }) : null);
	}

	function fmtMonth(v) {
		const m = /^(\d{4})-(\d{2})/.exec(v || '');
		if (!m) return v || '';
		return lang === 'en' ? m[1] + '-' + m[2] : m[1] + '年' + Number(m[2]) + '月';
	}

	/*
	 * A bar chart, one row per item: its name above, the bar below. items:
	 * [{label, value, hash}]; a row with a hash opens it when clicked.
	 */
	function barChart(items, opts) {
		opts = opts || {};
		const ROW = 34, SPAN = 86; // bar length at the largest value, in %
		const max = Math.max(1, ...items.map((it) => Number(it.value) || 0));
		const svgEl = s('svg', { class: 'chart bar-chart', width: '100%', height: Math.max(1, items.length) * ROW + 2, role: 'img', 'aria-label': opts.title || '' });
		items.forEach((it, i) => {
			const v = Number(it.value) || 0;
			const y = i * ROW;
			const pct = (v / max) * SPAN;
			const g = s('g', { class: it.hash ? 'bar link' : 'bar' },
				s('title', { text: `${it.label}: ${v}` }),
				s('text', { class: 'bar-label', x: 0, y: y + 13, text: it.label }),
				s('rect', { class: 'track', x: 0, y: y + 18, width: SPAN + '%', height: 11, rx: 2 }),
				s('rect', { class: opts.alert && v > 0 ? 'fill alert' : 'fill', x: 0, y: y + 18, width: pct.toFixed(2) + '%', height: 11, rx: 2 }),
				s('text', { class: 'bar-value', x: pct.toFixed(2) + '%', dx: 6, y: y + 28, text: v }));
			if (it.hash) g.addEventListener('click', () => go(it.hash));
			svgEl.append(g);
		});
		return svgEl;
	}

	/* A compact list of proportions ({code, zh, count}) inside a card. */
	function breakdown(rows, total, kind, field) {
		if (!rows || !rows.length) return h('p', { class: 'muted', text: t('no_data') });
		const sum = total || rows.reduce((a, r) => a + (Number(r.count) || 0), 0) || 1;
		return h('ul', { class: 'breakdown' }, rows.map((r) => {
			const bar = h('span', { class: 'meter-fill' });
			bar.style.width = Math.min(100, (100 * (Number(r.count) || 0)) / sum).toFixed(1) + '%';
			const text = enumLabel(kind, field, r.code) !== r.code ? enumLabel(kind, field, r.code) : (lang === 'en' ? r.en || r.zh : r.zh) || r.code;
			return h('li', { dataset: { code: r.code || '' } },
				h('span', { class: 'bd-label', text }),
				h('span', { class: 'meter' }, bar),
				h('span', { class: 'bd-count', text: Number(r.count) || 0 }));
		}));
	}

	/* ------------------------------------------------------------------ */
	/* Overview (#/overview, #/overview/CODE)                               */
	/* ------------------------------------------------------------------ */

	const STATS = [
		{ key: 'children', alert: false },
		{ key: 'without_guardian', alert: true },
		{ key: 'assessments_due', alert: false },
		{ key: 'assessments_overdue', alert: true },
		{ key: 'open_reports', alert: false },
		{ key: 'overdue_reports', alert: true },
		{ key: 'dropouts', alert: true },
		{ key: 'services_open', alert: false },
		{ key: 'tasks_open', alert: false },
		{ key: 'tasks_overdue', alert: true },
	];

	function statCard(key, value, alert, hash) {
		const v = Number(value) || 0;
		const card = h(hash ? 'a' : 'div', {
			class: 'stat' + (alert && v > 0 ? ' alert' : ''), dataset: { stat: key }, href: hash || null,
		}, h('span', { class: 'value', text: v.toLocaleString(lang === 'en' ? 'en' : 'zh-CN') }), h('span', { class: 'label', text: t('stat_' + key) }));
		return card;
	}

	function breadcrumb(ov) {
		const chain = listOf(ov.parents, 'parents').slice();
		if (!chain.length) return null;
		const items = chain.map((p) => h('li', null, link('#/overview/' + encodeURIComponent(p.code), p.name || p.code)));
		items.push(h('li', { 'aria-current': 'page', text: ov.unit.name || ov.unit.code }));
		return h('nav', { class: 'breadcrumb', 'aria-label': 'breadcrumb' }, h('ol', null, items));
	}

	async function viewOverview(m, seq) {
		const code = m[1] || (state.session && state.session.code) || '';
		const [ov, reports, tasks] = await Promise.all([
			api('GET', '/api/overview', { params: { unit: m[1] || null } }),
			api('GET', '/api/reports', { params: { open: 1 } }).catch(() => []),
			api('GET', '/api/tasks').catch(() => []),
		]);
		if (stale(seq)) return null;
		const unit = ov.unit || { code, name: code, level: unitLevel(code) };
		const totals = ov.totals || {};
		const units = listOf(ov.units, 'units');
		const page = h('div', { id: 'overview', class: 'overview', dataset: { unit: unit.code || '', level: unit.level || '' } });
		const crumbs = breadcrumb(Object.assign({}, ov, { unit }));
		if (crumbs) page.append(crumbs);
		const head = pageHead(unit.name || unit.code);
		head.querySelector('h2').append(h('span', { class: 'tag', text: t('unit_' + (unit.level || unitLevel(unit.code))) }));
		page.append(head);

		page.append(h('div', { class: 'stats' }, STATS.map((st) => statCard(st.key, totals[st.key], st.alert,
			st.key === 'open_reports' || st.key === 'overdue_reports' ? '#/reports' : st.key.startsWith('tasks') ? '#/tasks' : null))));

		page.append(h('div', { class: 'grid-2' },
			section(t('by_guardian_type'), breakdown(totals.by_guardian_type, 0, 'guardian', 'guardian_type')),
			section(t('by_mode'), breakdown(totals.by_mode, 0, 'assessment', 'mode'))));

		const months = listOf(ov.months, 'months');
		const charts = [section(t('trend_title'), months.length ? trendCharts(months) : h('p', { class: 'muted', text: t('no_data') }))];
		if (units.length) charts.push(section(t('dist_title'), distribution(units)));
		page.append(h('div', { class: units.length ? 'grid-2 charts' : 'charts wide' }, charts));

		if (units.length) page.append(section(t('units_title'), unitsTable(units)));
		if ((unit.level || unitLevel(unit.code)) === 'village') page.append(await villageChildren(unit.code));

		const prefix = divisionPrefix(unit.code);
		const open = listOf(reports, 'reports').filter((r) => String(r.division || '').startsWith(prefix));
		page.append(section(t('open_reports_title'), reportsTable(open, listOf(tasks, 'tasks'), false)));
		return page;
	}

	/* The bar chart of the units below, with a choice of measure. */
	function distribution(units) {
		const measures = ['children', 'without_guardian', 'assessments_overdue', 'open_reports', 'dropouts', 'tasks_overdue'];
		const holder = h('div', { class: 'chart-holder' });
		const select = h('select', { class: 'measure', 'aria-label': t('dist_title') },
			measures.map((k) => h('option', { value: k, text: t('stat_' + k) })));
		const LIMIT = 15;
		const draw = () => {
			const key = select.value;
			const items = units.map((u) => ({ label: u.name || u.code, value: Number(u[key]) || 0, hash: '#/overview/' + encodeURIComponent(u.code) }))
				.sort((a, b) => b.value - a.value);
			clear(holder).append(barChart(items.slice(0, LIMIT), { title: t('stat_' + key), alert: key !== 'children' }));
			if (items.length > LIMIT) holder.append(h('p', { class: 'muted small', text: t('dist_more', LIMIT, items.length) }));
		};
		select.addEventListener('change', draw);
		draw();
		return h('div', null, h('div', { class: 'chart-tools' }, select), holder);
	}

	function unitsTable(units) {
		const cols = ['children', 'without_guardian', 'assessments_due', 'assessments_overdue', 'open_reports', 'overdue_reports', 'dropouts', 'services_open', 'tasks_open', 'tasks_overdue'];
		const alerts = new Set(STATS.filter((x) => x.alert).map((x) => x.key));
		const head = [t('unit_name'), t('unit_code')].concat(cols.map((c) => t('stat_' + c)));
		const rows = units.map((u) => h('tr', { dataset: { code: u.code } },
			h('th', { scope: 'row' }, link('#/overview/' + encodeURIComponent(u.code), u.name || u.code)),
			td(u.code, 'mono'),
			cols.map((c) => {
				const v = Number(u[c]) || 0;
				return h('td', { class: 'num' + (alerts.has(c) && v > 0 ? ' alert' : ''), text: v });
			})));
		return table('units-table', head, rows, t('no_units'));
	}

	async function villageChildren(village) {
		let data;
		try {
			data = await api('GET', '/api/children', { params: { village, status: 'active' } });
		} catch (e) {
			return section(t('children_title'), notice(e.message, 'error'));
		}
		return section(t('children_title'), childrenTable(listOf(data, 'children'), data && data.more));
	}

	/* ------------------------------------------------------------------ */
	/* The ledger (#/children)                                              */
	/* ------------------------------------------------------------------ */

	function childrenTable(children, more) {
		const head = [t('col_name'), t('col_sex'), t('col_birth'), t('col_village'), t('col_guardian'), t('col_mode'), t('col_status')];
		const rows = children.map((c) => h('tr', { dataset: { id: c.id } },
			h('th', { scope: 'row' }, link('#/child/' + encodeURIComponent(c.id), c.name || c.id),
				c.key_child ? h('span', { class: 'badge red', text: t('key_child') }) : null),
			td(enumLabel('child', 'sex', c.sex)),
			td(fmtDate(c.birth_date) || (c.age !== undefined && c.age !== null ? t('age_years', c.age) : '')),
			td(c.village || c.village_code),
			td(enumLabel('guardian', 'guardian_type', c.guardian_type)),
			td(enumLabel('assessment', 'mode', c.mode)),
			td(enumLabel('child', 'status', c.status))));
		return h('div', null, more ? notice(t('more_children'), 'warn') : null, table('children-table', head, rows, t('no_children')));
	}

	async function viewChildren() {
		const q = h('input', { type: 'search', name: 'q', placeholder: t('search_placeholder'), 'aria-label': t('search_placeholder') });
		const status = h('select', { name: 'status' }, ['active', 'removed', 'all'].map((k) => h('option', { value: k, text: t('status_' + k) })));
		status.value = sessionStorage.getItem('cn.status') || 'active';
		const results = h('div');
		const form = h('form', { class: 'filters', role: 'search' }, q, status, h('button', { type: 'submit', class: 'btn', text: t('search') }));
		const load = async () => {
			sessionStorage.setItem('cn.status', status.value);
			clear(results).append(h('p', { class: 'loading', text: t('loading') }));
			try {
				const data = await api('GET', '/api/children', { params: { q: q.value.trim(), status: status.value } });
				clear(results).append(childrenTable(listOf(data, 'children'), data && data.more));
			} catch (e) {
				clear(results).append(notice(e.message, 'error'));
			}
		};
		form.addEventListener('submit', (ev) => {
			ev.preventDefault();
			load();
		});
		status.addEventListener('change', load);
		load();
		return h('div', null,
			pageHead(t('children_list'), may('child') ? link('#/child/new', t('nav_new_child'), 'btn primary') : null),
			form, results);
	}

	/* ------------------------------------------------------------------ */
	/* A child's file (#/child/ID)                                          */
	/* ------------------------------------------------------------------ */

	/* The records of one kind in a file, whatever the answer's shape: a
	 * kind may be null, one record or a list; a record may carry its
	 * fields as members or as a "fields" list of {name, zh, value, label}. */
	function fileRecords(file, kind) {
		let v = file[kind];
		if (v === undefined && file.kinds) v = file.kinds[kind];
		if (v === null || v === undefined) return [];
		if (!Array.isArray(v)) v = [v];
		return v.filter(Boolean).map((rec) => normalizeRecord(kind, rec));
	}

	function normalizeRecord(kind, rec) {
		const values = {};
		const list = Array.isArray(rec) ? rec : Array.isArray(rec.fields) ? rec.fields : null;
		if (list) {
			for (const f of list) values[f.name] = { value: f.value, label: f.label, zh: f.zh };
		} else {
			const k = kindDef(kind);
			const names = k ? Object.keys(k.byName) : Object.keys(rec);
			for (const n of names) if (n in rec) values[n] = { value: rec[n], label: null };
		}
		const meta = Array.isArray(rec) ? {} : rec;
		return {
			id: meta.id || meta.record || (values.id && values.id.value) || '',
			createdBy: meta.created_by || '',
			updatedBy: meta.updated_by || '',
			updatedAt: meta.updated_at || meta.created_at || '',
			values,
		};
	}

	function val(rec, name) {
		const v = rec && rec.values[name];
		return v ? v.value : null;
	}

	/* Field/value pairs of a record as a <dl>, skipping empties and ids. */
	function recordList(kind, rec, skip) {
		const k = kindDef(kind);
		const names = k ? Object.keys(k.byName) : Object.keys(rec.values);
		const items = [];
		for (const n of names) {
			if (n === 'child' || n === 'report' || (skip && skip.includes(n))) continue;
			const v = rec.values[n];
			if (!v || v.value === null || v.value === undefined || v.value === '') continue;
			const f = fieldDef(kind, n);
			const text = displayValue(f, v.value, v.label);
			const long = f && (f.multiline || (f.max || 0) > 128);
			items.push(h('div', { class: 'kv' + (long ? ' long' : '') }, h('dt', { text: f ? label(f) : v.zh || n }), h('dd', { text })));
		}
		return h('dl', { class: 'record' }, items);
	}

	const ID_NUMBER = /^\d{17}[\dXx]$/;

	/* A resident ID shown masked, with a button to show it. */
	function maskedId(id) {
		if (!id) return t('dash');
		const masked = ID_NUMBER.test(id) ? id.slice(0, 6) + '********' + id.slice(14) : id;
		const span = h('span', { class: 'mono', text: masked });
		let shown = false;
		const btn = h('button', { type: 'button', class: 'btn-link small', text: t('show_id') });
		btn.addEventListener('click', () => {
			shown = !shown;
			span.textContent = shown ? id : masked;
			btn.textContent = shown ? t('hide_id') : t('show_id');
		});
		return h('span', null, span, ' ', btn);
	}

	const EVENT_ORDER = ['assessment', 'visit', 'contact', 'report', 'schooling', 'service', 'intervention', 'unreported', 'hotline'];
	const ADD_KEYS = { visit: 'add_visit', contact: 'add_contact', assessment: 'add_assessment', report: 'add_report', schooling: 'add_schooling', service: 'add_service', intervention: 'add_intervention', unreported: 'add_unreported' };

	async function viewChild(m, seq) {
		const id = m[1];
		const file = await api('GET', '/api/children/' + encodeURIComponent(id));
		if (stale(seq)) return null;
		const child = fileRecords(file, 'child')[0] || { values: {}, id: file.id };
		const cid = file.id || child.id || id;
		const base = '#/child/' + encodeURIComponent(cid);
		const name = val(child, 'name') || cid;
		const removed = val(child, 'status') === 'removed';

		const actions = [];
		if (may('child') && !removed) actions.push(link(base + '/edit', t('edit_child'), 'btn'));
		if (may('guardian') && !removed) actions.push(link(base + '/guardian', t('edit_guardian'), 'btn'));
		for (const k of ['visit', 'contact', 'assessment', 'report']) if (may(k) && !removed) actions.push(link(base + '/' + k, t(ADD_KEYS[k]), k === 'report' ? 'btn danger' : 'btn primary'));
		const moreActions = [];
		for (const k of ['schooling', 'service', 'intervention', 'unreported']) if (may(k) && !removed) moreActions.push(link(base + '/' + k, t(ADD_KEYS[k]), 'btn-link'));
		if (mayMove() && !removed) moreActions.push(link(base + '/move', t('move_child'), 'btn-link'));
		if (may('remove') && !removed) moreActions.push(link(base + '/remove', t('remove_child'), 'btn-link danger'));

		const sex = enumLabel('child', 'sex', val(child, 'sex'));
		const age = ageYears(val(child, 'birth_date'));
		const facts = h('div', { class: 'child-facts' },
			h('span', { text: [sex, age !== null ? t('age_years', age) : '', file.village || val(child, 'village_code') || ''].filter(Boolean).join(' · ') }),
			h('span', { class: 'idnum' }, fieldLabel('child', 'id_number') + '：', maskedId(val(child, 'id_number'))),
			removed ? h('span', { class: 'badge grey', text: enumLabel('child', 'status', 'removed') }) : null,
			val(child, 'key_child') ? h('span', { class: 'badge red', text: fieldLabel('child', 'key_child') }) : null);

		const page = h('article', { id: 'child-file', class: 'child-file', dataset: { id: cid } },
			h('div', { class: 'page-head' }, h('div', null, h('h2', { text: name }), facts)),
			actions.length ? h('div', { class: 'actions' }, actions) : null,
			moreActions.length ? h('div', { class: 'actions secondary' }, moreActions) : null);

		const tasks = listOf(file.tasks, 'tasks');
		const conflicts = listOf(file.conflicts, 'conflicts');
		if (conflicts.length) page.append(section(t('child_conflicts'), conflictsTable(conflicts, 'child-conflicts')));
		if (tasks.length) page.append(section(t('child_tasks'), tasksTable(tasks, 'child-tasks', true)));

		page.append(h('div', { class: 'grid-2' },
			section(t('basic_info'), recordList('child', child, ['name', 'id_number'])),
			guardianSection(fileRecords(file, 'guardian')[0], base, removed)));

		const responses = fileRecords(file, 'response');
		for (const kind of EVENT_ORDER) {
			const recs = fileRecords(file, kind);
			if (!recs.length && !['assessment', 'visit', 'contact', 'report'].includes(kind)) continue;
			page.append(eventSection(kind, recs, responses, base, removed));
		}
		return page;
	}

	function guardianSection(g, base, removed) {
		const body = g ? recordList('guardian', g) : h('p', { class: 'muted', text: t('no_guardian') });
		const edit = may('guardian') && !removed ? link(base + '/guardian', t('edit_guardian'), 'btn-link') : null;
		return h('section', { class: 'panel' + (g ? '' : ' warn') }, h('div', { class: 'panel-title-row' }, h('h3', { class: 'panel-title', text: kindLabel('guardian') }), edit), body);
	}

	/* What a record of each kind is about, and its date: the field named
	 * here, else the first enum / the first date of the model. */
	const TITLE_FIELD = { report: 'situation', visit: 'visit_type', contact: 'method', assessment: 'result', schooling: 'event', service: 'service', intervention: 'incident', unreported: 'unit_type', hotline: 'situation' };
	const DATE_FIELD = { report: 'date', hotline: 'call_at', service: 'start_date', intervention: 'incident_date' };

	function recordDate(kind, rec) {
		const k = kindDef(kind);
		const fields = k ? Object.values(k.byName) : [];
		const named = fields.find((f) => f.name === DATE_FIELD[kind] && val(rec, f.name));
		if (named) return { f: named, v: val(rec, named.name) };
		const f = fields.find((x) => (x.type === 'date' || x.type === 'time') && val(rec, x.name));
		return f ? { f, v: val(rec, f.name) } : null;
	}

	function recordTitle(kind, rec) {
		const k = kindDef(kind);
		const fields = k ? Object.values(k.byName) : [];
		const f = fields.find((x) => x.name === TITLE_FIELD[kind] && val(rec, x.name)) || fields.find((x) => x.type === 'enum' && val(rec, x.name));
		return f ? displayValue(f, val(rec, f.name), rec.values[f.name].label) : kindLabel(kind);
	}

	/* Records that change after they are made (not events): an update
	 * form each (POST /api/KIND/ID). */
	const UPDATABLE = new Set(['service', 'intervention']);

	function eventSection(kind, recs, responses, base, removed) {
		const add = ADD_KEYS[kind] && may(kind) && !removed ? link(base + '/' + kind, t(ADD_KEYS[kind]), 'btn-link') : null;
		const sorted = recs.slice().sort((a, b) => String((recordDate(kind, b) || {}).v || '').localeCompare(String((recordDate(kind, a) || {}).v || '')));
		const items = sorted.map((rec) => {
			const d = recordDate(kind, rec);
			const steps = kind === 'report' ? responses.filter((r) => val(r, 'report') === rec.id) : [];
			return h('li', { class: 'entry', dataset: { id: rec.id } },
				h('div', { class: 'entry-head' },
					h('strong', { text: recordTitle(kind, rec) }),
					d ? h('span', { class: 'entry-date', text: displayValue(d.f, d.v) }) : null,
					rec.createdBy ? h('span', { class: 'entry-meta', text: t('recorded_by', rec.createdBy, fmtTime(rec.updatedAt)) }) : null,
					UPDATABLE.has(kind) && may(kind) && rec.id ? link(base + '/' + kind + '/' + encodeURIComponent(rec.id), t('update'), 'btn small entry-action') : null),
				recordList(kind, rec, [d && d.f.name, TITLE_FIELD[kind]].filter(Boolean)),
				steps.length ? stepsList(steps) : null);
		});
		return h('section', { class: 'panel', dataset: { kind } },
			h('div', { class: 'panel-title-row' }, h('h3', { class: 'panel-title', text: kindLabel(kind) + (recs.length ? '（' + recs.length + '）' : '') }), add),
			items.length ? h('ol', { class: 'entries' }, items) : h('p', { class: 'muted', text: t('none_recorded') }));
	}

	function stepsList(steps) {
		const sorted = steps.slice().sort((a, b) => String(val(a, 'at')).localeCompare(String(val(b, 'at'))));
		return h('div', { class: 'steps' }, h('h4', { text: t('steps_title') }),
			h('ol', null, sorted.map((st) => h('li', null,
				h('span', { class: 'step-time', text: fmtTime(val(st, 'at')) }), ' ',
				h('strong', { text: enumLabel('response', 'step', val(st, 'step')) }), ' ',
				h('span', { text: [val(st, 'by'), val(st, 'place'), val(st, 'note')].filter(Boolean).join('，') })))));
	}

	/* ------------------------------------------------------------------ */
	/* Forms built from the model                                           */
	/* ------------------------------------------------------------------ */

	/* Fields never typed in: the child named by the route, ids, derived
	 * values and what only a move or a removal sets. */
	const NEVER_INPUT = new Set(['child', 'report', 'moved_from']);
	const CHILD_HIDDEN = new Set(['status', 'removal_reason', 'removal_date', 'caring_parent', 'removal_note']);
	/* Filled by the node when left empty: sex and birth date from the ID
	 * number, the village from the node (R1.2). */
	const CHILD_AUTO = new Set(['sex', 'birth_date', 'village_code']);
	const CHILD_GROUPS = [
		['group_basic', ['name', 'id_number', 'sex', 'birth_date', 'household_address', 'current_address', 'village_code', 'lives_alone', 'key_child']],
		['group_parents', ['father_name', 'father_status', 'father_work_place', 'father_phone', 'mother_name', 'mother_status', 'mother_work_place', 'mother_phone']],
		['group_school', ['school_stage', 'school_name', 'grade', 'health', 'disability', 'health_note', 'relief', 'behaviour']],
	];

	function inputField(f) {
		return f && !NEVER_INPUT.has(f.name) && !f.derived && !['record', 'chain', 'revoke', 'revocation'].includes(f.type);
	}

	let fieldSeq = 0;

	/* One labelled control for a model field; value is the code. */
	function control(f, value, opts) {
		const id = 'f-' + f.name + '-' + ++fieldSeq;
		const required = f.required && !(opts.auto && opts.auto.has(f.name));
		const hints = [];
		let input;
		const v = value === null || value === undefined ? '' : value;
		switch (f.type) {
			case 'enum':
				input = h('select', { id, name: f.name },
					h('option', { value: '', text: '— ' + t('choose') + ' —' }),
					(f.values || []).map((x) => h('option', { value: x.code, text: label(x) })));
				input.value = String(v);
				break;
			case 'bool':
				input = h('input', { id, name: f.name, type: 'checkbox', value: '1', checked: v === true || v === 1 || v === '1' || v === 'true' });
				break;
			case 'date':
				input = h('input', { id, name: f.name, type: 'date', value: String(v).slice(0, 10) });
				break;
			case 'time':
				input = h('input', { id, name: f.name, type: 'datetime-local', value: String(v).replace(' ', 'T').slice(0, 16) });
				break;
			case 'int':
				input = h('input', { id, name: f.name, type: 'number', inputmode: 'numeric', step: '1', min: f.min, max: f.max, value: String(v) });
				break;
			case 'idnum':
				input = h('input', { id, name: f.name, type: 'text', inputmode: 'text', maxlength: 18, autocomplete: 'off', spellcheck: 'false', class: 'mono', value: String(v) });
				hints.push(t('id_hint'));
				break;
			case 'phone':
				input = h('input', { id, name: f.name, type: 'tel', autocomplete: 'off', maxlength: 20, value: String(v) });
				break;
			case 'division':
				input = h('input', { id, name: f.name, type: 'text', inputmode: 'numeric', maxlength: 12, class: 'mono', value: String(v), list: opts.divisionList || null });
				hints.push(t('division_hint'));
				break;
			default: {
				const long = f.multiline || (f.max || 0) > 128;
				input = long ? h('textarea', { id, name: f.name, rows: (f.max || 0) >= 1000 ? 5 : 3, maxlength: f.max || null })
					: h('input', { id, name: f.name, type: 'text', maxlength: f.max || null, value: String(v) });
				if (long) input.value = String(v);
				if (long && f.max) hints.push(t('max_chars', f.max));
			}
		}
		if (opts.auto && opts.auto.has(f.name)) hints.unshift(t(f.name === 'village_code' ? 'auto_village' : 'auto_from_id'));
		if (required) input.setAttribute('aria-required', 'true');
		const wide = input.tagName === 'TEXTAREA';
		const lab = h('label', { for: id },
			label(f),
			required ? h('span', { class: 'req', 'aria-hidden': 'true', text: ' *' }) : null);
		if (lang === 'zh' && f.en) lab.title = f.en;
		const cls = 'field' + (wide ? ' wide' : '') + (f.type === 'bool' ? ' check' : '');
		if (f.type === 'bool') return h('div', { class: cls, dataset: { field: f.name } }, h('label', { class: 'check-label', for: id }, input, ' ', label(f)));
		return h('div', { class: cls, dataset: { field: f.name } }, lab, input, hints.length ? h('small', { class: 'hint', text: hints.join('；') }) : null);
	}

	/* The text typed in one control, as the API takes it. */
	function controlValue(el) {
		if (el.type === 'checkbox') return el.checked ? '1' : '0';
		if (el.type === 'datetime-local') return el.value ? el.value.replace('T', ' ') : '';
		return el.value.trim();
	}

	function originalText(f, v) {
		if (v === null || v === undefined) return f.type === 'bool' ? '0' : '';
		if (f.type === 'bool') return v === true || v === 1 || v === '1' || v === 'true' ? '1' : '0';
		if (f.type === 'time') return String(v).replace('T', ' ').slice(0, 16);
		return String(v);
	}

	/*
	 * The parameters to send: on creation the filled fields; on a change
	 * (original given) only the fields changed, an emptied one as "" (the
	 * API clears it).
	 */
	function collect(form, fields, original, rename) {
		const out = new URLSearchParams();
		for (const f of fields) {
			const el = form.elements.namedItem(f.name);
			if (!el) continue;
			const text = controlValue(el);
			const key = (rename && rename[f.name]) || f.name;
			if (original) {
				if (text !== originalText(f, original[f.name])) out.set(key, text);
			} else if (text !== '' && !(f.type === 'bool' && text === '0' && !f.required)) {
				out.set(key, text);
			}
		}
		return out;
	}

	/* Marks required fields left empty; answers their labels. */
	function markMissing(form, fields, auto) {
		const missing = [];
		for (const f of fields) {
			const el = form.elements.namedItem(f.name);
			if (!el || !f.required || (auto && auto.has(f.name)) || f.type === 'bool') continue;
			const empty = controlValue(el) === '';
			el.classList.toggle('missing', empty);
			el.setAttribute('aria-invalid', empty ? 'true' : 'false');
			if (empty) missing.push(label(f));
		}
		return missing;
	}

	/* Marks the field a server message names as "(field_name)", if the
	 * form has it: the message itself stays as it came. */
	function markNamed(form, message, rename) {
		for (const el of form.querySelectorAll('.invalid')) {
			el.classList.remove('invalid');
			el.removeAttribute('aria-invalid');
		}
		const m = /\(([a-z_]+)\)/.exec(message || '');
		if (!m) return;
		let name = m[1];
		for (const [field, param] of Object.entries(rename || {})) if (param === name) name = field;
		const el = form.elements.namedItem(name);
		if (el && el.classList) {
			el.classList.add('invalid');
			el.setAttribute('aria-invalid', 'true');
			el.setAttribute('aria-describedby', 'form-error');
		}
	}

	/*
	 * A model form. kind names the model kind; opts: id (form id), values
	 * (for a change), fields (the list to show), groups, auto, title,
	 * action (the POST path), rename (field → parameter), onDone(answer).
	 */
	function modelForm(opts) {
		const fields = opts.fields;
		const values = opts.values || {};
		const error = h('div', { id: 'form-error', class: 'form-error', role: 'alert', hidden: true });
		const hint = h('div', { class: 'form-hint', 'aria-live': 'polite' });
		const submitText = opts.submitText || t('save');
		const submit = h('button', { type: 'submit', class: 'btn primary', text: submitText });
		const form = h('form', { id: opts.id, class: 'model-form', novalidate: true, dataset: { kind: opts.kind } });
		const ctl = (f) => (opts.controls && opts.controls[f.name] ? opts.controls[f.name](f, values[f.name]) : control(f, values[f.name], opts));
		if (opts.groups) {
			const used = new Set();
			for (const [key, names] of opts.groups) {
				const fs = names.map((n) => fields.find((f) => f.name === n)).filter(Boolean);
				fs.forEach((f) => used.add(f.name));
				if (fs.length) form.append(h('fieldset', null, h('legend', { text: t(key) }), h('div', { class: 'fields' }, fs.map(ctl))));
			}
			const rest = fields.filter((f) => !used.has(f.name));
			if (rest.length) form.append(h('fieldset', null, h('legend', { text: t('group_other') }), h('div', { class: 'fields' }, rest.map(ctl))));
		} else {
			form.append(h('div', { class: 'fields' }, fields.map(ctl)));
		}
		form.append(h('p', { class: 'muted small', text: t('required_hint') }), hint, error,
			h('div', { class: 'form-actions' }, submit, opts.cancel ? link(opts.cancel, t('cancel'), 'btn') : null,
				opts.onCancel ? h('button', { type: 'button', class: 'btn', text: t('cancel'), on: { click: opts.onCancel } }) : null));
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			const missing = markMissing(form, fields, opts.auto);
			hint.textContent = missing.length ? t('required_missing', missing.join('、')) : '';
			error.hidden = true;
			error.textContent = '';
			const params = collect(form, fields, opts.values ? values : null, opts.rename);
			if (opts.values && !Array.from(params.keys()).length) {
				hint.textContent = t('no_changes'); // a change sends only what changed: here nothing
				return;
			}
			for (const [k, v] of Object.entries(opts.extra || {})) params.set(k, v);
			submit.disabled = true;
			submit.textContent = t('saving');
			try {
				const answer = await api('POST', opts.action, { form: params });
				opts.onDone(answer);
			} catch (e) {
				error.textContent = e.message; // the node's words, verbatim
				error.hidden = false;
				markNamed(form, e.message, opts.rename);
				error.scrollIntoView({ block: 'nearest' });
			} finally {
				submit.disabled = false;
				submit.textContent = submitText;
			}
		});
		return form;
	}

	function needModel() {
		if (!state.model) throw new ApiError(0, 'model', t('no_model'));
	}

	/* Village codes for the child form's list: the villages below, read
	 * from the overview when the node is above a village. */
	async function divisionOptions() {
		if (level() === 'village') return null;
		try {
			const ov = await api('GET', '/api/overview');
			const villages = [];
			for (const u of listOf(ov.units, 'units')) {
				if (unitLevel(u.code) === 'village') villages.push(u);
			}
			if (!villages.length) return null;
			return h('datalist', { id: 'village-codes' }, villages.map((u) => h('option', { value: u.code, text: u.name || '' })));
		} catch (e) {
			return null;
		}
	}

	/* Fills sex and birth date from a typed resident ID (GB 11643) while
	 * they are empty or still hold what was filled before: a convenience;
	 * the node checks that they agree. */
	function wireIdNumber(form) {
		const idEl = form.elements.namedItem('id_number');
		const sexEl = form.elements.namedItem('sex');
		const birthEl = form.elements.namedItem('birth_date');
		const filled = { sex: '', birth: '' };
		if (!idEl) return;
		idEl.addEventListener('change', () => {
			const id = idEl.value.trim();
			if (!ID_NUMBER.test(id)) return;
			const birth = id.slice(6, 10) + '-' + id.slice(10, 12) + '-' + id.slice(12, 14);
			const sex = Number(id[16]) % 2 ? 'male' : 'female';
			if (birthEl && (!birthEl.value || birthEl.value === filled.birth) && !isNaN(parseChina(birth))) {
				birthEl.value = birth;
				filled.birth = birthEl.value;
			}
			if (sexEl && (!sexEl.value || sexEl.value === filled.sex)) {
				sexEl.value = sex;
				filled.sex = sex;
			}
		});
	}

	/* #/child/new and #/child/ID/edit */
	async function viewChildForm(id) {
		needModel();
		const kind = kindDef('child');
		let values = null, name = '';
		if (id) {
			const file = await api('GET', '/api/children/' + encodeURIComponent(id));
			const child = fileRecords(file, 'child')[0];
			values = {};
			for (const [k, v] of Object.entries(child ? child.values : {})) values[k] = v.value;
			name = values.name || id;
		}
		const fields = Object.values(kind.byName).filter((f) => inputField(f) && !CHILD_HIDDEN.has(f.name));
		const datalist = id ? null : await divisionOptions();
		const defaults = {};
		if (!id && level() === 'village') defaults.village_code = state.session.code;
		const form = modelForm({
			id: 'child-form', kind: 'child', fields, groups: CHILD_GROUPS,
			values: values || undefined, auto: id ? null : CHILD_AUTO,
			divisionList: datalist ? 'village-codes' : null,
			action: id ? '/api/children/' + encodeURIComponent(id) : '/api/children',
			cancel: id ? '#/child/' + encodeURIComponent(id) : '#/children',
			onDone: (a) => go('#/child/' + encodeURIComponent((a && a.record) || id), t('saved')),
		});
		if (!id) {
			for (const [k, v] of Object.entries(defaults)) {
				const el = form.elements.namedItem(k);
				if (el && !el.value) el.value = v;
			}
			wireIdNumber(form);
		}
		return h('div', { class: 'form-page' },
			pageHead(id ? t('form_for', t('edit_child_title'), name) : t('new_child_title')),
			datalist, section(null, form));
	}

	/* The remove form takes the removal fields under the API's names. */
	const REMOVE_FIELDS = { removal_reason: 'reason', caring_parent: 'caring_parent', removal_date: 'date', removal_note: 'note' };

	/* #/child/ID/KIND: guardian, visit, contact, assessment, report, … */
	async function viewEventForm(id, kind) {
		needModel();
		const file = await api('GET', '/api/children/' + encodeURIComponent(id));
		const child = fileRecords(file, 'child')[0];
		const name = (child && val(child, 'name')) || id;
		const base = '#/child/' + encodeURIComponent(id);
		let fields, values, rename = null, title;
		if (kind === 'remove') {
			const def = kindDef('child');
			fields = Object.keys(REMOVE_FIELDS).map((n) => Object.assign({}, def.byName[n], n === 'removal_reason' ? { required: true } : {})).filter((f) => f.name);
			rename = REMOVE_FIELDS;
			title = t('remove_title');
		} else {
			const def = kindDef(kind);
			if (!def) throw new ApiError(404, 'not_found', t('not_found'));
			fields = Object.values(def.byName).filter(inputField);
			title = label(def);
			if (kind === 'guardian') {
				const g = fileRecords(file, 'guardian')[0];
				if (g) {
					values = {};
					for (const [k, v] of Object.entries(g.values)) values[k] = v.value;
				}
			}
		}
		const form = modelForm({
			id: 'event-form', kind, fields, values, rename,
			action: '/api/children/' + encodeURIComponent(id) + '/' + kind,
			cancel: base,
			onDone: () => go(base, t('saved')),
		});
		prefillEvent(form, kind);
		return h('div', { class: 'form-page' },
			h('nav', { class: 'breadcrumb' }, h('ol', null, h('li', null, link(base, name)), h('li', { 'aria-current': 'page', text: title }))),
			pageHead(t('form_for', title, name)),
			kind === 'report' ? notice(t('report_urgent'), 'warn') : null,
			section(null, form));
	}

	/* Sensible defaults for a new event: today, and who is logged in. */
	function prefillEvent(form, kind) {
		if (kind === 'guardian') return;
		for (const el of form.elements) {
			if (el.type === 'date' && !el.value && ['date', 'removal_date'].includes(el.name)) el.value = todayChina();
			if (el.type === 'datetime-local' && !el.value) el.value = nowChinaInput();
		}
	}

	/* ------------------------------------------------------------------ */
	/* Tasks (#/tasks)                                                      */
	/* ------------------------------------------------------------------ */

	function dueState(task) {
		if (task.overdue) {
			if (Number(task.overdue_days) >= 1) return { cls: 'overdue', text: t('overdue_days', task.overdue_days) };
			return { cls: 'overdue', text: t('overdue_hours', Math.max(1, Number(task.overdue_hours) || 0)) };
		}
		return { cls: '', text: t('in_time') };
	}

	/* The tasks as a table; on a child's own page (oneChild) without the
	 * child and village columns. */
	function tasksTable(tasks, id, oneChild) {
		const sorted = tasks.slice().sort((a, b) => (b.overdue ? 1 : 0) - (a.overdue ? 1 : 0) || String(a.due).localeCompare(String(b.due)));
		const head = [t('col_due'), t('col_task')].concat(oneChild ? [] : [t('col_child'), t('col_village')], [t('col_responsible'), t('col_escalated'), t('col_missing'), t('col_state')]);
		const rows = sorted.map((task) => {
			const st = dueState(task);
			return h('tr', { class: st.cls || null, dataset: { child: task.child || '', requirement: task.requirement || '' } },
				td(task.due && task.due.length > 10 ? fmtTime(task.due) : fmtDate(task.due), 'nowrap'),
				h('td', null, h('span', { text: lang === 'en' ? task.task_en || task.task : task.task }), task.requirement ? h('span', { class: 'req-code', text: task.requirement }) : null),
				oneChild ? null : h('td', { class: 'nowrap' }, task.child ? link('#/child/' + encodeURIComponent(task.child), task.name || task.child) : t('dash')),
				oneChild ? null : td(task.village_code, 'mono'),
				td(respLabel(task.responsible)),
				td(task.escalated_to ? respLabel(task.escalated_to) : ''),
				td(task.missing, 'long'),
				h('td', { class: 'nowrap' }, h('span', { class: 'state ' + (st.cls || 'ok'), text: st.text })));
		});
		return limited(rows, ROW_LIMIT, (shown) => table(id, head, shown, t('no_tasks')));
	}

	const ROW_LIMIT = 100;

	/* A long table drawn with its first `limit` rows and a button for the
	 * rest: a county's hundreds of tasks stay usable on an old laptop. */
	function limited(rows, limit, draw) {
		if (rows.length <= limit) return draw(rows);
		const box = h('div', null, draw(rows.slice(0, limit)));
		const more = h('button', { type: 'button', class: 'btn show-all', text: t('show_all', rows.length) });
		more.addEventListener('click', () => clear(box).append(draw(rows)));
		box.append(more);
		return box;
	}

	async function viewTasks(m, seq) {
		const overdue = h('input', { type: 'checkbox', id: 'only-overdue', checked: sessionStorage.getItem('cn.overdue') === '1' });
		const owner = h('select', { id: 'task-owner', 'aria-label': t('col_responsible') },
			h('option', { value: '', text: t('owner_all') }),
			['village', 'township', 'county', 'police', 'school'].map((w) => h('option', { value: w, text: respLabel(w) })));
		owner.value = sessionStorage.getItem('cn.owner') || '';
		const holder = h('div');
		const summary = h('p', { class: 'summary' });
		const load = async () => {
			sessionStorage.setItem('cn.overdue', overdue.checked ? '1' : '0');
			sessionStorage.setItem('cn.owner', owner.value);
			clear(holder).append(h('p', { class: 'loading', text: t('loading') }));
			try {
				const tasks = listOf(await api('GET', '/api/tasks', { params: { owner: owner.value, overdue: overdue.checked ? 1 : null } }), 'tasks');
				const n = tasks.filter((x) => x.overdue).length;
				summary.textContent = t('tasks_summary', tasks.length, n);
				summary.classList.toggle('alert', n > 0);
				clear(holder).append(tasksTable(tasks, 'tasks-table'));
			} catch (e) {
				clear(holder).append(notice(e.message, 'error'));
			}
		};
		overdue.addEventListener('change', load);
		owner.addEventListener('change', load);
		await load();
		if (stale(seq)) return null;
		return h('div', null, pageHead(t('tasks_title')),
			h('div', { class: 'filters' }, h('label', { class: 'check-label' }, overdue, ' ', t('only_overdue')), owner, summary),
			holder);
	}

	/* ------------------------------------------------------------------ */
	/* Mandatory reports (#/reports) and their response steps               */
	/* ------------------------------------------------------------------ */

	/* The report's nearest deadline from its tasks (R6), else the
	 * acceptance deadline from /api/deadlines. */
	function reportDeadline(r, tasks) {
		const mine = tasks.filter((x) => x.record && x.record === r.report);
		if (mine.length) {
			const over = mine.filter((x) => x.overdue);
			const pick = (over.length ? over : mine).slice().sort((a, b) => String(a.due).localeCompare(String(b.due)))[0];
			return { due: parseChina(pick.due), overdue: !!pick.overdue, what: lang === 'en' ? pick.task_en || pick.task : pick.task };
		}
		if (!r.accepted_at && !r.closed) {
			const acc = (state.deadlines || []).find((d) => d.item === 'accept');
			const hours = acc ? Number(acc.hours) : 1;
			const due = parseChina(r.filed_at) + hours * 3600000;
			return { due, overdue: Date.now() > due, what: enumLabel('response', 'step', 'accept') };
		}
		return null;
	}

	function reportsTable(reports, tasks, withActions) {
		const head = [t('col_child'), t('col_situation'), t('col_filed'), t('col_age'), t('col_deadline'), t('col_accepted'), t('col_steps'), t('col_missing')];
		if (withActions) head.push(t('col_actions'));
		const rows = reports.slice().sort((a, b) => String(b.filed_at).localeCompare(String(a.filed_at))).map((r) => {
			const ageH = (Date.now() - parseChina(r.filed_at)) / 3600000;
			const dl = r.closed ? null : reportDeadline(r, tasks);
			let dlCell = t('dash');
			if (r.closed) dlCell = h('span', { class: 'state ok', text: t('closed') });
			else if (dl && !isNaN(dl.due)) {
				const left = (dl.due - Date.now()) / 3600000;
				dlCell = h('span', { class: 'state ' + (dl.overdue || left < 0 ? 'overdue' : 'ok'), title: dl.what, text: dl.what + ' · ' + (left < 0 ? t('hours_over', fmtHours(-left)) : t('hours_left', fmtHours(left))) });
			}
			const sep = lang === 'en' ? '; ' : '、';
			const steps = (r.steps || []).map((st) => enumLabel('response', 'step', typeof st === 'string' ? st : st.step)).join(sep);
			/* each missing step, or "a|b" for either of two */
			const missing = (r.missing || []).map((alt) => String(alt).split('|').map((c) => enumLabel('response', 'step', c)).join(lang === 'en' ? ' or ' : '或')).join(sep);
			const tr = h('tr', { class: dl && dl.overdue ? 'overdue' : null, dataset: { report: r.report || '' } },
				h('th', { scope: 'row' }, r.child ? link('#/child/' + encodeURIComponent(r.child), r.name || r.child) : r.name || t('dash')),
				td(enumLabel('report', 'situation', r.situation)),
				td(fmtTime(r.filed_at), 'nowrap'),
				td(isNaN(ageH) ? '' : fmtHours(ageH), 'nowrap'),
				h('td', null, dlCell),
				td(r.accepted_at ? fmtTime(r.accepted_at) : h('span', { class: 'state ' + (dl && dl.overdue ? 'overdue' : 'pending'), text: t('not_accepted') }), 'nowrap'),
				td(steps, 'long'),
				td(missing, 'long'));
			if (withActions) tr.append(h('td', null, !r.closed && may('response') ? stepButton(r) : null));
			return tr;
		});
		return table('reports-table', head, rows, t('no_reports'));
	}

	/* A button opening the step form of one report below its row. */
	function stepButton(r) {
		const btn = h('button', { type: 'button', class: 'btn small', text: t('record_step') });
		btn.addEventListener('click', () => {
			const tr = btn.closest('tr');
			const below = tr.nextElementSibling;
			const wasOpen = below && below.classList.contains('step-row');
			for (const row of tr.parentNode.querySelectorAll('tr.step-row')) row.remove(); // one form at a time
			if (wasOpen) return;
			const def = kindDef('response');
			if (!def) return;
			const fields = Object.values(def.byName).filter(inputField);
			const form = modelForm({
				id: 'step-form', kind: 'response', fields,
				action: '/api/reports/' + encodeURIComponent(r.report) + '/steps',
				onDone: () => go('#/reports', t('saved')),
			});
			prefillEvent(form, 'response');
			/* the step due next: acceptance first, then the first missing */
			const step = form.elements.namedItem('step');
			const next = !r.accepted_at ? 'accept' : String((r.missing || [])[0] || '').split('|')[0];
			if (step && next && [...step.options].some((o) => o.value === next)) step.value = next;
			const by = form.elements.namedItem('by');
			if (by && !by.value && state.session) by.value = state.session.login;
			tr.after(h('tr', { class: 'step-row' }, h('td', { colspan: tr.children.length }, form)));
		});
		return btn;
	}

	async function viewReports(m, seq) {
		const onlyOpen = h('input', { type: 'checkbox', checked: sessionStorage.getItem('cn.open') !== '0' });
		const holder = h('div');
		if (!state.deadlines) state.deadlines = listOf(await api('GET', '/api/deadlines').catch(() => []), 'deadlines');
		const load = async () => {
			sessionStorage.setItem('cn.open', onlyOpen.checked ? '1' : '0');
			clear(holder).append(h('p', { class: 'loading', text: t('loading') }));
			try {
				const [reports, tasks] = await Promise.all([
					api('GET', '/api/reports', { params: { open: onlyOpen.checked ? 1 : null } }),
					api('GET', '/api/tasks').catch(() => []),
				]);
				clear(holder).append(reportsTable(listOf(reports, 'reports'), listOf(tasks, 'tasks'), true));
			} catch (e) {
				clear(holder).append(notice(e.message, 'error'));
			}
		};
		onlyOpen.addEventListener('change', load);
		await load();
		if (stale(seq)) return null;
		return h('div', null, pageHead(t('reports_title')),
			h('div', { class: 'filters' }, h('label', { class: 'check-label' }, onlyOpen, ' ', t('only_open'))),
			holder);
	}

	/* ------------------------------------------------------------------ */
	/* Conflicts (#/conflicts)                                              */
	/* ------------------------------------------------------------------ */

	/* Both sides of each conflict, grouped by record and field. */
	function groupConflicts(list) {
		const groups = new Map();
		for (const c of list) {
			const key = c.record + '\u0000' + c.field;
			if (!groups.has(key)) groups.set(key, { record: c.record, kind: c.kind, field: c.field, field_zh: c.field_zh, child: c.child, name: c.name, sides: [] });
			groups.get(key).sides.push(c);
		}
		return Array.from(groups.values());
	}

	function conflictSide(g, side) {
		const f = fieldDef(g.kind, g.field);
		/* code: the stored value; value/label: as the node shows it */
		const code = side.code !== undefined && side.code !== null ? side.code : side.value;
		const shown = f ? displayValue(f, code, side.label || side.value) : side.label || side.value || '';
		const cell = h('td', { class: 'side', dataset: { op: side.op || '' } },
			h('div', { class: 'side-value', text: shown === '' ? t('dash') : shown }),
			h('div', { class: 'side-meta', text: (side.by || '?') + ' · ' + fmtTime(side.at) }));
		if (may('resolve')) {
			const btn = h('button', { type: 'button', class: 'btn small primary', text: t('choose_this') });
			btn.addEventListener('click', () => resolveConflict(g, side, cell, btn));
			cell.append(btn);
		}
		return cell;
	}

	async function resolveConflict(g, side, cell, btn) {
		const row = cell.closest('tr');
		const err = row.querySelector('.row-error');
		btn.disabled = true;
		try {
			await api('POST', '/api/conflicts/resolve', { form: { record: g.record, field: g.field, op: side.op } });
			go(location.hash, t('resolved')); // the list, or the child's file, again
		} catch (e) {
			err.textContent = e.message;
			err.hidden = false;
			btn.disabled = false;
		}
	}

	function conflictsTable(list, id) {
		const groups = groupConflicts(list);
		const width = Math.max(2, ...groups.map((g) => g.sides.length));
		const head = [t('col_child'), t('col_kind'), t('col_field')];
		for (let i = 0; i < width; i++) head.push(i === 0 ? t('col_value_a') : i === 1 ? t('col_value_b') : '#' + (i + 1));
		const rows = groups.map((g) => {
			const cells = g.sides.map((sd) => conflictSide(g, sd));
			while (cells.length < width) cells.push(h('td'));
			return h('tr', { dataset: { record: g.record, field: g.field } },
				h('th', { scope: 'row' }, g.child ? link('#/child/' + encodeURIComponent(g.child), g.name || g.child) : g.name || t('dash')),
				td(kindLabel(g.kind)),
				h('td', null, fieldLabel(g.kind, g.field, g.field_zh), h('div', { class: 'row-error form-error', role: 'alert', hidden: true })),
				cells);
		});
		return table(id, head, rows, t('no_conflicts'));
	}

	async function viewConflicts() {
		const data = await api('GET', '/api/conflicts');
		return h('div', null, pageHead(t('conflicts_title')),
			h('p', { class: 'lead', text: t('conflicts_note') }),
			section(null, conflictsTable(listOf(data, 'conflicts'), 'conflicts-table')));
	}

	/* ------------------------------------------------------------------ */
	/* Sync and quarantine (#/sync)                                         */
	/* ------------------------------------------------------------------ */

	function syncRowClass(minutes, quarantined) {
		if (minutes === null || minutes === undefined || minutes >= DAY_MINUTES) return 'overdue';
		if (Number(quarantined) > 0) return 'warn';
		return '';
	}

	async function viewSync(m, seq) {
		const [sync, quarantine] = await Promise.all([
			api('GET', '/api/sync'),
			api('GET', '/api/quarantine').catch((e) => ({ error: e })),
		]);
		if (stale(seq)) return null;
		paintSync(syncHealth(sync));
		const parents = listOf(sync.parents, 'parents');
		const parentRows = parents.map((p) => h('tr', { class: p.last_error ? 'overdue' : Number(p.pending_up) ? 'warn' : null },
			h('th', { scope: 'row', class: 'mono', text: p.peer || p.parent || '' }),
			td(fmtTime(p.last_contact), 'nowrap'),
			td(fmtTime(p.last_synced), 'nowrap'),
			td(String(Number(p.pending_up) || 0), 'num'),
			td(p.last_error, 'long')));
		const children = listOf(sync.children, 'children');
		const childRows = children.slice().sort((a, b) => (Number(b.minutes_since) || 0) - (Number(a.minutes_since) || 0)).map((c) => h('tr', {
			class: syncRowClass(c.minutes_since, c.quarantined) || null, dataset: { code: c.code || '' },
		},
			h('th', { scope: 'row' }, c.code ? link('#/overview/' + encodeURIComponent(c.code), c.name || c.code) : c.name || c.peer),
			td(c.code, 'mono'),
			td(c.peer, 'mono small'),
			td(fmtTime(c.last_contact), 'nowrap'),
			td(fmtAgo(c.minutes_since), 'nowrap'),
			td(String(Number(c.ops) || 0), 'num'),
			td(fmtTime(c.newest_op), 'nowrap'),
			h('td', { class: 'num' + (Number(c.quarantined) ? ' alert' : ''), text: Number(c.quarantined) || 0 })));
		const health = syncHealth(sync);
		const page = h('div', null, pageHead(t('sync_title')),
			h('div', { class: 'stats' },
				h('div', { class: 'stat sync-' + health.cls }, h('span', { class: 'value small', text: health.text }), h('span', { class: 'label', text: health.detail.split('\n')[0] || t('parent_link') })),
				statCardPlain('pending_up', t('col_pending'), sync.pending_up, true),
				statCardPlain('quarantined', t('col_quarantined'), sync.quarantined, true)),
			section(t('parent_link'), parents.length
				? table('parents-table', [t('col_peer'), t('col_last_contact'), t('col_last_synced'), t('col_pending'), t('col_error')], parentRows)
				: h('p', { class: 'muted', text: t('no_parents') })));
		if (level() !== 'village' || children.length)
			page.append(section(t('below_title'), table('sync-table', [t('unit_name'), t('unit_code'), t('col_peer'), t('col_last_contact'), t('col_since'), t('col_ops'), t('col_newest'), t('col_quarantined')], childRows, t('no_below'))));
		page.append(section(t('quarantine_title'), quarantineView(quarantine)));
		return page;
	}

	function statCardPlain(key, text, value, alert) {
		const v = Number(value) || 0;
		return h('div', { class: 'stat' + (alert && v > 0 ? ' alert' : ''), dataset: { stat: key } }, h('span', { class: 'value', text: v }), h('span', { class: 'label', text }));
	}

	function quarantineView(q) {
		if (q && q.error) return notice(q.error.message, 'error');
		const rows = listOf(q, 'quarantine').map((x) => h('tr', null,
			td(String(x.id || ''), 'mono small'),
			td(x.peer, 'mono small'),
			td(x.reason, 'long'),
			td(fmtTime(x.received), 'nowrap')));
		return h('div', null, h('p', { class: 'muted', text: t('quarantine_note') }),
			table('quarantine-table', ['#', t('col_peer'), t('col_reason'), t('col_received')], rows, t('no_quarantine')));
	}

	/* ------------------------------------------------------------------ */
	/* Export and import (#/export)                                         */
	/* ------------------------------------------------------------------ */

	function downloadLink(path, params, text, cls) {
		const q = new URLSearchParams();
		for (const [k, v] of Object.entries(params || {})) if (v) q.set(k, v);
		const href = path + (q.toString() ? '?' + q.toString() : '');
		const a = link(href, text, cls || 'btn download');
		a.setAttribute('download', '');
		return a;
	}

	function viewExport() {
		/* the ledger */
		const status = h('select', { name: 'status', 'aria-label': t('export_status') }, ['active', 'removed', 'all'].map((k) => h('option', { value: k, text: t('status_' + k) })));
		const ledgerLinks = h('div', { class: 'downloads' });
		const drawLedger = () => clear(ledgerLinks).append(
			downloadLink('/api/export/ledger.csv', { status: status.value }, t('export_csv')),
			downloadLink('/api/export/ledger.xls', { status: status.value }, t('export_xls')));
		status.addEventListener('change', drawLedger);
		drawLedger();

		/* the joint meeting */
		const today = todayChina();
		const from = h('input', { type: 'date', name: 'from', value: today.slice(0, 8) + '01', max: today });
		const to = h('input', { type: 'date', name: 'to', value: today, max: today });
		const meetingLinks = h('div', { class: 'downloads' });
		const drawMeeting = () => clear(meetingLinks).append(
			downloadLink('/api/export/meeting.csv', { from: from.value, to: to.value }, t('export_csv')),
			downloadLink('/api/export/meeting.xls', { from: from.value, to: to.value }, t('export_xls')));
		from.addEventListener('change', drawMeeting);
		to.addEventListener('change', drawMeeting);
		drawMeeting();

		const page = h('div', null, pageHead(t('export_title')),
			notice(t('sensitive_note'), 'warn'),
			h('div', { class: 'grid-2' },
				section(t('export_ledger'), h('div', { class: 'inline-fields' }, h('label', null, t('export_status'), ' ', status)), ledgerLinks),
				section(t('export_meeting'), h('div', { class: 'inline-fields' },
					h('label', null, t('date_from'), ' ', from), h('label', null, t('date_to'), ' ', to)), meetingLinks)));
		if (may('import')) page.append(section(t('import_title'), importForm()));
		return page;
	}

	function importForm() {
		const file = h('input', { type: 'file', id: 'import-file', name: 'file', accept: '.csv,text/csv' });
		const encoding = h('select', { id: 'import-encoding', name: 'encoding' },
			h('option', { value: 'auto', text: t('enc_auto') }), h('option', { value: 'utf8', text: 'UTF-8' }), h('option', { value: 'gb18030', text: 'GB18030 (GBK)' }));
		const skip = h('input', { type: 'checkbox', id: 'import-skip', name: 'skip_bad' });
		const error = h('div', { id: 'form-error', class: 'form-error', role: 'alert', hidden: true });
		const result = h('div', { id: 'import-result', 'aria-live': 'polite' });
		const submit = h('button', { type: 'submit', class: 'btn primary', text: t('import_submit') });
		const form = h('form', { id: 'import-form', class: 'model-form', novalidate: true },
			h('p', { class: 'muted', text: t('import_note') }),
			h('div', { class: 'fields' },
				h('div', { class: 'field' }, h('label', { for: 'import-file', text: t('import_file') }), file),
				h('div', { class: 'field' }, h('label', { for: 'import-encoding', text: t('import_encoding') }), encoding),
				h('div', { class: 'field check' }, h('label', { class: 'check-label', for: 'import-skip' }, skip, ' ', t('skip_bad')))),
			error, result, h('div', { class: 'form-actions' }, submit));
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			error.hidden = true;
			clear(result);
			const f = file.files && file.files[0];
			if (!f) {
				error.textContent = t('import_pick');
				error.hidden = false;
				return;
			}
			submit.disabled = true;
			submit.textContent = t('import_busy');
			try {
				const params = new URLSearchParams();
				if (encoding.value !== 'auto') params.set('encoding', encoding.value);
				if (skip.checked) params.set('skip_bad', '1');
				const qs = params.toString();
				const answer = await api('POST', '/api/import' + (qs ? '?' + qs : ''), { file: f });
				result.append(importResult(answer));
			} catch (e) {
				error.textContent = e.message; // names the row and column
				error.hidden = false;
			} finally {
				submit.disabled = false;
				submit.textContent = t('import_submit');
			}
		});
		return form;
	}

	/* What an import answered: rows read, imported and skipped, and the
	 * node's report of each skipped row (a text, or a list of rows). */
	function importResult(a) {
		const imported = Number(a && a.imported) || 0, skipped = Number(a && a.skipped) || 0;
		const box = h('div', null, notice(t('import_done', imported, skipped) + (typeof a.rows === 'number' ? t('import_rows', a.rows) : ''), skipped ? 'warn' : 'success'));
		if (a && typeof a.report === 'string' && a.report.trim()) box.append(h('pre', { class: 'import-report', text: a.report }));
		const rows = Array.isArray(a && a.rows) ? a.rows.filter((r) => r && typeof r === 'object' && (r.error || r.message)) : [];
		if (rows.length)
			box.append(table('import-rows', ['#', t('col_field'), t('col_reason')],
				rows.map((r) => h('tr', null, td(String(r.row ?? r.line ?? '')), td(r.column || r.field || ''), td(r.error || r.message))), t('no_data')));
		return box;
	}

	/* ------------------------------------------------------------------ */
	/* Units: names and the villages a person may choose                    */
	/* ------------------------------------------------------------------ */

	/* GET /api/overview?unit=CODE, kept for the session: only its names
	 * and units are read from it here. A refusal is not kept. */
	function unitOverview(code) {
		if (!state.overviews.has(code)) {
			const p = api('GET', '/api/overview', { params: { unit: code } });
			p.catch(() => state.overviews.delete(code));
			state.overviews.set(code, p);
		}
		return state.overviews.get(code);
	}

	/* The person's own unit (their jurisdiction), else the node's. */
	function ownUnit() {
		const se = state.session || {};
		return se.unit || se.code || '';
	}

	function townshipOf(code) {
		return String(code).slice(0, 9) + '000';
	}

	/* Names of villages by code, from the overviews of their townships
	 * (or of the village itself, for a village's person); a code whose
	 * name cannot be read stays a code. */
	async function villageNames(codes) {
		const names = new Map();
		const want = [...new Set(codes.filter((c) => /^\d{12}$/.test(c || '')))];
		const own = ownUnit();
		const sources = new Set(want.map((c) => (unitLevel(own) === 'village' && c === own ? c : townshipOf(c))));
		await Promise.all([...sources].map(async (src) => {
			try {
				const ov = await unitOverview(src);
				if (ov.unit) names.set(ov.unit.code, ov.unit.name);
				for (const u of listOf(ov.units, 'units')) names.set(u.code, u.name);
			} catch (e) {
				/* outside the person's unit: the code is shown */
			}
		}));
		return names;
	}

	/* Runs fn over items, at most n at a time. */
	async function eachLimit(items, n, fn) {
		const queue = items.slice();
		const worker = async () => {
			while (queue.length) await fn(queue.shift());
		};
		await Promise.all(Array.from({ length: Math.min(n, queue.length) }, worker));
	}

	/* The children named in records (by record id), with their names and
	 * villages: the unit's list, and when that is cut at 500, the lists of
	 * the records' villages. The records themselves carry only the id. */
	async function childNames(records) {
		const ids = new Set(records.map((r) => r.child).filter(Boolean));
		const found = new Map();
		if (!ids.size) return found;
		const take = (data) => {
			for (const c of listOf(data, 'children')) if (ids.has(c.id)) found.set(c.id, c);
		};
		try {
			const all = await api('GET', '/api/children', { params: { status: 'all' } });
			take(all);
			if (all && all.more) {
				const villages = [...new Set(records.filter((r) => r.child && !found.has(r.child)).map((r) => r.division).filter(Boolean))];
				await eachLimit(villages, 4, async (v) => {
					take(await api('GET', '/api/children', { params: { village: v, status: 'all' } }).catch(() => null));
				});
			}
		} catch (e) {
			/* names unknown: the file's id is shown */
		}
		return found;
	}

	function childLink(id, names) {
		if (!id) return null;
		const c = names.get(id);
		return link('#/child/' + encodeURIComponent(id), c ? c.name || id : t('unknown_child', String(id).slice(0, 8)));
	}

	/*
	 * Controls to choose a village of the person's jurisdiction (R3.1):
	 * a village's person has their village; a township's picks one of its
	 * villages; the county's picks a township, then its village. f names
	 * the field (the village select's name); opts.current marks the
	 * child's present village. Answers the field elements; the village
	 * select fires "change" once it holds its villages.
	 */
	function villagePicker(f, value, opts) {
		opts = opts || {};
		const id = 'f-' + f.name + '-' + ++fieldSeq;
		const required = !!f.required;
		const village = h('select', { id, name: f.name, 'aria-required': required ? 'true' : null, disabled: true },
			h('option', { value: '', text: t('loading') }));
		const unit = ownUnit();
		const lv = unitLevel(unit);
		const fieldOf = (forId, text, el, req) => h('div', { class: 'field', dataset: { field: el.name || 'township' } },
			h('label', { for: forId }, text, req ? h('span', { class: 'req', 'aria-hidden': 'true', text: ' *' }) : null), el);
		const out = [];

		const fill = (units, pick) => {
			clear(village);
			village.append(h('option', { value: '', text: '— ' + t('choose') + ' —' }));
			for (const u of units) {
				const now = opts.current && u.code === opts.current;
				village.append(h('option', { value: u.code, text: (u.name || u.code) + (now ? t('current_mark') : ''), disabled: now }));
			}
			village.disabled = false;
			if (pick && units.some((u) => u.code === pick && u.code !== opts.current)) village.value = pick;
			village.dispatchEvent(new Event('change', { bubbles: true }));
		};
		let township = null;
		const failed = (e) => {
			/* the units cannot be read: the code typed in */
			const input = h('input', { id, name: f.name, type: 'text', inputmode: 'numeric', maxlength: 12, class: 'mono', value: value || '' });
			village.replaceWith(input);
			input.after(h('small', { class: 'hint', text: t('units_unreadable') + (e && e.message ? ' ' + e.message : '') }));
			if (township && township.parentNode) township.parentNode.remove();
		};
		const villagesOf = async (code) => listOf((await unitOverview(code)).units, 'units').filter((u) => unitLevel(u.code) === 'village');

		if (lv === 'village') {
			unitOverview(unit).then((ov) => fill([{ code: unit, name: (ov.unit && ov.unit.name) || unit }], value || unit))
				.catch(() => fill([{ code: unit, name: unit }], value || unit));
		} else if (lv === 'township') {
			villagesOf(unit).then((vs) => fill(vs, value)).catch(failed);
		} else {
			const tid = 'f-township-' + ++fieldSeq;
			township = h('select', { id: tid, class: 'township', 'aria-required': required ? 'true' : null },
				h('option', { value: '', text: t('loading') }));
			out.push(fieldOf(tid, t('move_township'), township, required));
			const want = value && /^\d{12}$/.test(value) ? townshipOf(value) : '';
			unitOverview(unit).then((ov) => {
				append(clear(township), [h('option', { value: '', text: '— ' + t('choose') + ' —' }),
					listOf(ov.units, 'units').map((u) => h('option', { value: u.code, text: u.name || u.code }))]);
				if (want) township.value = want;
				const load = () => {
					if (!township.value) {
						clear(village).append(h('option', { value: '', text: '— ' + t('move_township') + ' —' }));
						village.disabled = true;
						village.dispatchEvent(new Event('change', { bubbles: true }));
						return;
					}
					village.disabled = true;
					villagesOf(township.value).then((vs) => fill(vs, value)).catch(failed);
				};
				township.addEventListener('change', load);
				load();
			}).catch(failed);
		}
		out.push(fieldOf(id, opts.label || label(f), village, required));
		return out;
	}

	/* ------------------------------------------------------------------ */
	/* Hotline calls (#/hotline, #/hotline/new) (R11.2)                     */
	/* ------------------------------------------------------------------ */

	function isOpenCall(r) {
		return r.call_status !== 'handled';
	}

	/* An open call's deadline: its task (R11.2), else the county's hours
	 * for a call (or an urgent one) from the time it came in. */
	function callDeadline(r, tasks) {
		const mine = tasks.filter((x) => x.record && x.record === r.id);
		if (mine.length) {
			const pick = mine.slice().sort((a, b) => String(a.due).localeCompare(String(b.due)))[0];
			return { due: parseChina(pick.due), overdue: !!pick.overdue };
		}
		const item = (state.deadlines || []).find((d) => d.item === (r.situation ? 'hotline_urgent' : 'hotline'));
		if (!item) return null;
		const due = parseChina(r.call_at || r.created_at) + Number(item.hours) * 3600000;
		return { due, overdue: Date.now() > due };
	}

	async function loadDeadlines() {
		if (!state.deadlines) state.deadlines = listOf(await api('GET', '/api/deadlines').catch(() => []), 'deadlines');
		return state.deadlines;
	}

	async function viewHotline(m, seq) {
		const [data, tasks] = await Promise.all([
			api('GET', '/api/records/hotline'),
			api('GET', '/api/tasks').catch(() => []),
			loadDeadlines(),
		]);
		const calls = listOf(data, 'records');
		const [villages, children] = await Promise.all([
			villageNames(calls.map((r) => r.village_code || r.division)),
			childNames(calls),
		]);
		if (stale(seq)) return null;
		const taskList = listOf(tasks, 'tasks');
		const open = calls.filter(isOpenCall);
		const urgent = open.filter((r) => r.situation);
		const summary = h('p', { class: 'summary' + (urgent.length ? ' alert' : ''), text: t('hotline_summary', calls.length, open.length, urgent.length) });
		const onlyOpen = h('input', { type: 'checkbox', id: 'only-open-calls', checked: sessionStorage.getItem('cn.calls.open') === '1' });
		const holder = h('div');
		const draw = () => {
			sessionStorage.setItem('cn.calls.open', onlyOpen.checked ? '1' : '0');
			clear(holder).append(hotlineTable(onlyOpen.checked ? open : calls, taskList, villages, children));
		};
		onlyOpen.addEventListener('change', draw);
		draw();
		return h('div', null,
			pageHead(t('hotline_title'), may('hotline') ? link('#/hotline/new', t('hotline_new'), 'btn primary') : null),
			data && data.more ? notice(t('hotline_more'), 'warn') : null,
			h('div', { class: 'filters' }, h('label', { class: 'check-label' }, onlyOpen, ' ', t('only_open_calls')), summary),
			holder);
	}

	/* The calls: open ones first (an R5.2 situation before the rest), each
	 * group newest first. */
	function hotlineTable(calls, tasks, villages, children) {
		const rank = (r) => (isOpenCall(r) ? (r.situation ? 0 : 1) : 2);
		const due = new Map(calls.filter(isOpenCall).map((r) => [r.id, (callDeadline(r, tasks) || {}).due]));
		const byDue = (a, b) => (due.get(a.id) || Infinity) - (due.get(b.id) || Infinity);
		const sorted = calls.slice().sort((a, b) => rank(a) - rank(b) ||
			(rank(a) < 2 ? byDue(a, b) : 0) || String(b.call_at || '').localeCompare(String(a.call_at || '')));
		const head = [t('col_call_at'), t('col_village'), t('col_caller'), t('col_call_situation'), t('col_content'), t('col_deadline'), t('col_state'), t('col_handling'), t('col_actions')];
		const rows = sorted.map((r) => {
			const open = isOpenCall(r);
			const dl = open ? callDeadline(r, tasks) : null;
			let dlCell = t('dash');
			if (dl && !isNaN(dl.due)) {
				const left = (dl.due - Date.now()) / 3600000;
				dlCell = h('span', { class: 'state ' + (dl.overdue || left < 0 ? 'overdue' : 'ok'), text: left < 0 ? t('hours_over', fmtHours(-left)) : t('hours_left', fmtHours(left)) });
			}
			const cls = [open ? 'open-call' : 'handled-call', open && r.situation ? 'urgent' : '', dl && dl.overdue ? 'overdue' : ''].filter(Boolean).join(' ');
			const village = r.village_code || r.division;
			const handled = [r.handled_by, r.handled_at ? fmtTime(r.handled_at) : ''].filter(Boolean).join(' · ');
			const tr = h('tr', { class: cls, dataset: { id: r.id, status: r.call_status || '' } },
				h('td', { class: 'nowrap' }, fmtTime(r.call_at), r.taken_by ? h('div', { class: 'muted small', text: t('taken_by', r.taken_by) }) : null),
				td(villages.get(village) || village),
				h('td', null, r.caller || t('dash'), r.caller_phone ? h('div', { class: 'muted small mono', text: r.caller_phone }) : null),
				h('td', { class: 'situation-cell' }, r.situation ? h('span', { class: open ? 'badge urgent' : 'badge red', title: t('hotline_urgent'), text: enumLabel('hotline', 'situation', r.situation) }) : t('dash')),
				h('td', { class: 'long' }, h('div', { class: 'call-content', text: r.content || '' }),
					r.child ? h('div', { class: 'small' }, t('child_prefix'), childLink(r.child, children)) : null),
				h('td', { class: 'nowrap' }, dlCell),
				h('td', { class: 'nowrap' }, h('span', { class: 'state ' + (open ? (r.situation ? 'overdue' : 'pending') : 'ok'), text: enumLabel('hotline', 'call_status', r.call_status || 'open') })),
				h('td', { class: 'long' }, handled ? h('div', { class: 'muted small', text: handled }) : null, r.handling ? h('div', { text: r.handling }) : (handled ? null : t('dash'))),
				h('td', null, open && may('hotline') ? handleButton(r) : null));
			return tr;
		});
		return limited(rows, ROW_LIMIT, (shown) => stacked(table('hotline-table', head, shown, t('no_calls'))));
	}

	/* A button opening the form that marks one call handled, below its row. */
	function handleButton(r) {
		const btn = h('button', { type: 'button', class: 'btn small primary', text: t('handle_call') });
		btn.addEventListener('click', () => {
			const tr = btn.closest('tr');
			const below = tr.nextElementSibling;
			const wasOpen = below && below.classList.contains('form-row') && below.dataset.for === r.id;
			for (const row of tr.parentNode.querySelectorAll('tr.form-row')) row.remove(); // one form at a time
			if (wasOpen) return;
			const def = kindDef('hotline');
			if (!def) return;
			/* handled needs who and what (the node says so too) */
			const fields = ['handled_by', 'handled_at', 'handling'].map((n) => def.byName[n]).filter(Boolean)
				.map((f) => (f.name === 'handled_at' ? f : Object.assign({}, f, { required: true })));
			const form = modelForm({
				id: 'handle-form', kind: 'hotline', fields,
				action: '/api/hotline/' + encodeURIComponent(r.id),
				extra: { call_status: 'handled' },
				submitText: t('handle_call'),
				onCancel: () => tr.nextElementSibling.remove(),
				onDone: () => go('#/hotline', t('saved')),
			});
			prefillEvent(form, 'hotline');
			const by = form.elements.namedItem('handled_by');
			if (by && !by.value) by.value = state.session.person || state.session.login;
			tr.after(h('tr', { class: 'form-row', dataset: { for: r.id } }, h('td', { colspan: tr.children.length }, form)));
			const first = form.querySelector('textarea, input');
			if (first) first.focus();
		});
		return btn;
	}

	/* The order of the new call's form. */
	const HOTLINE_NEW = ['call_at', 'caller', 'caller_phone', 'village_code', 'child', 'situation', 'content', 'taken_by'];

	async function viewHotlineForm(m, seq) {
		needModel();
		await loadDeadlines();
		if (stale(seq)) return null;
		const def = kindDef('hotline');
		if (!def) throw new ApiError(404, 'not_found', t('not_found'));
		const fields = HOTLINE_NEW.map((n) => def.byName[n]).filter(Boolean);
		const unit = ownUnit();
		const childSel = h('select', { id: 'f-child-' + ++fieldSeq, name: 'child', disabled: true },
			h('option', { value: '', text: t('hotline_child_pick_village') }));
		const loadChildren = async (village) => {
			clear(childSel).append(h('option', { value: '', text: village ? t('loading') : t('hotline_child_pick_village') }));
			childSel.disabled = true;
			if (!village) return;
			try {
				const data = await api('GET', '/api/children', { params: { village, status: 'active' } });
				if (form.elements.namedItem('village_code').value !== village) return; // chosen again since
				const kids = listOf(data, 'children').slice().sort((a, b) => String(a.name).localeCompare(String(b.name), 'zh-CN'));
				append(clear(childSel), [h('option', { value: '', text: t('hotline_child_none') }),
					kids.map((c) => h('option', { value: c.id, text: c.name + (c.birth_date ? '（' + fmtDate(c.birth_date) + '）' : '') }))]);
			} catch (e) {
				clear(childSel).append(h('option', { value: '', text: t('hotline_child_none') }));
			}
			childSel.disabled = false;
		};
		const form = modelForm({
			id: 'hotline-form', kind: 'hotline', fields,
			controls: {
				village_code: (f, v) => villagePicker(f, v, { label: lang === 'en' ? label(f) : label(f).replace(/代码$/, '') }),
				child: () => h('div', { class: 'field', dataset: { field: 'child' } }, h('label', { for: childSel.id, text: t('hotline_child') }), childSel),
			},
			values: undefined,
			action: '/api/hotline',
			cancel: '#/hotline',
			onDone: () => go('#/hotline', t('saved')),
		});
		prefillEvent(form, 'hotline');
		const taken = form.elements.namedItem('taken_by');
		if (taken && !taken.value) taken.value = state.session.person || state.session.login;
		/* the village select may be replaced by a text input when units cannot be read */
		form.addEventListener('change', (ev) => {
			if (ev.target.name === 'village_code') loadChildren(ev.target.value.trim());
		});
		/* a call on an R5.2 situation is urgent: say so while it is chosen */
		const urgentHours = ((state.deadlines || []).find((d) => d.item === 'hotline_urgent') || {}).hours;
		const urgentNote = h('div', { class: 'field wide', id: 'urgent-note', hidden: true },
			notice(t('hotline_urgent_note', fmtHours(Number(urgentHours) || 2)), 'error'));
		const situation = form.elements.namedItem('situation');
		if (situation) {
			situation.addEventListener('change', () => {
				urgentNote.hidden = !situation.value;
				situation.classList.toggle('urgent-choice', !!situation.value);
			});
			situation.closest('.field').after(urgentNote);
		}
		return h('div', { class: 'form-page' },
			h('nav', { class: 'breadcrumb' }, h('ol', null, h('li', null, link('#/hotline', t('hotline_title'))), h('li', { 'aria-current': 'page', text: t('hotline_new_title') }))),
			pageHead(t('hotline_new_title')),
			section(null, form));
	}

	/* ------------------------------------------------------------------ */
	/* Services and intervention cases (#/services, #/interventions) and    */
	/* their update form (#/child/ID/service/REC, …/intervention/REC)       */
	/* ------------------------------------------------------------------ */

	const RECORD_LISTS = {
		service: {
			id: 'services-table', title: 'services_title', note: 'records_note_service', status: 'service_status',
			columns: ['service', 'provider', 'service_status', 'start_date', 'follow_up', 'amount'],
			open: (r) => r.service_status === 'planned' || r.service_status === 'ongoing',
		},
		intervention: {
			id: 'interventions-table', title: 'interventions_title', note: 'records_note_intervention', status: 'case_status',
			columns: ['incident', 'incident_date', 'incidents', 'applicant', 'court_applied', 'outcome', 'case_status'],
			open: (r) => r.case_status !== 'closed',
		},
	};

	async function viewRecords(kind, seq) {
		needModel();
		const cfg = RECORD_LISTS[kind];
		const data = await api('GET', '/api/records/' + kind);
		const recs = listOf(data, 'records');
		const children = await childNames(recs);
		if (stale(seq)) return null;
		const statusField = fieldDef(kind, cfg.status);
		const filter = h('select', { id: 'records-filter', 'aria-label': statusField ? label(statusField) : t('col_state') },
			h('option', { value: '', text: t('filter_all') }), h('option', { value: 'open', text: t('filter_open') }),
			((statusField && statusField.values) || []).map((v) => h('option', { value: v.code, text: label(v) })));
		const key = 'cn.filter.' + kind;
		filter.value = sessionStorage.getItem(key) || '';
		const holder = h('div');
		const draw = () => {
			sessionStorage.setItem(key, filter.value);
			const shown = recs.filter((r) => !filter.value || (filter.value === 'open' ? cfg.open(r) : r[cfg.status] === filter.value));
			clear(holder).append(recordsTable(kind, shown, children));
		};
		filter.addEventListener('change', draw);
		draw();
		return h('div', null,
			pageHead(t(cfg.title)),
			h('p', { class: 'lead', text: t(cfg.note) }),
			data && data.more ? notice(t('records_more'), 'warn') : null,
			h('div', { class: 'filters' }, h('label', { class: 'inline-label' }, (statusField ? label(statusField) : t('col_state')) + ' ', filter)),
			holder);
	}

	function recordsTable(kind, recs, children) {
		const cfg = RECORD_LISTS[kind];
		const today = todayChina();
		const follow = (r) => (kind === 'service' && cfg.open(r) && r.follow_up) || '9999';
		const sorted = recs.slice().sort((a, b) => (cfg.open(b) ? 1 : 0) - (cfg.open(a) ? 1 : 0) || follow(a).localeCompare(follow(b)));
		const head = [t('col_child'), t('col_village')].concat(cfg.columns.map((c) => fieldLabel(kind, c)), [t('col_updated'), t('col_actions')]);
		const rows = sorted.map((r) => {
			const open = cfg.open(r);
			const late = kind === 'service' && open && r.follow_up && r.follow_up < today;
			const c = children.get(r.child);
			const cells = cfg.columns.map((name) => {
				const f = fieldDef(kind, name);
				const v = r[name];
				if (name === 'provider') {
					return h('td', null, v || t('dash'), r.provider_type ? h('div', { class: 'muted small', text: enumLabel(kind, 'provider_type', r.provider_type) }) : null);
				}
				if (name === cfg.status) return h('td', { class: 'nowrap' }, v ? h('span', { class: 'state ' + (open ? 'pending' : 'ok'), text: displayValue(f, v) }) : t('dash'));
				if (name === 'follow_up' && late) return h('td', { class: 'nowrap alert', title: t('follow_up_overdue') }, displayValue(f, v));
				return td(displayValue(f, v), f && (f.type === 'int') ? 'num' : f && (f.type === 'date' || f.type === 'time') ? 'nowrap' : null);
			});
			const upd = link('#/child/' + encodeURIComponent(r.child) + '/' + kind + '/' + encodeURIComponent(r.id), t('update'), 'btn small');
			upd.addEventListener('click', () => {
				state.back = location.hash;
			});
			return h('tr', { class: late ? 'overdue' : null, dataset: { id: r.id, child: r.child || '' } },
				h('th', { scope: 'row' }, childLink(r.child, children) || t('dash')),
				td((c && c.village) || r.division),
				cells,
				h('td', { class: 'nowrap small' }, r.updated_by || '', h('div', { class: 'muted', text: fmtTime(r.updated_at) })),
				h('td', null, may(kind) && r.child ? upd : null));
		});
		return limited(rows, ROW_LIMIT, (shown) => stacked(table(cfg.id, head, shown, t('no_records'))));
	}

	async function viewRecordUpdate(cid, kind, rid) {
		needModel();
		const file = await api('GET', '/api/children/' + encodeURIComponent(cid));
		const child = fileRecords(file, 'child')[0];
		const name = (child && val(child, 'name')) || cid;
		const base = '#/child/' + encodeURIComponent(file.id || cid);
		const back = state.back || base;
		state.back = null;
		const recs = fileRecords(file, kind);
		const rec = recs.find((r) => r.id === rid) || recs.find((r) => String(r.id).startsWith(rid));
		if (!rec) throw new ApiError(404, 'not_found', t('record_not_found'));
		const def = kindDef(kind);
		const values = {};
		for (const [k, v] of Object.entries(rec.values)) values[k] = v.value;
		const form = modelForm({
			id: 'update-form', kind, fields: Object.values(def.byName).filter(inputField), values,
			action: '/api/' + kind + '/' + encodeURIComponent(rec.id),
			cancel: back,
			onDone: () => go(back, t('saved')),
		});
		const title = t('update_title', kindLabel(kind));
		return h('div', { class: 'form-page' },
			h('nav', { class: 'breadcrumb' }, h('ol', null, h('li', null, link(base, name)), h('li', { 'aria-current': 'page', text: recordTitle(kind, rec) }))),
			pageHead(t('form_for', title, name)),
			rec.createdBy ? h('p', { class: 'muted small', text: t('recorded_by', rec.updatedBy || rec.createdBy, fmtTime(rec.updatedAt)) }) : null,
			section(null, form));
	}

	/* ------------------------------------------------------------------ */
	/* Deadlines (#/deadlines) (R6, R10)                                    */
	/* ------------------------------------------------------------------ */

	function maySetDeadlines() {
		return may('deadline') && level() === 'county' && unitLevel(ownUnit()) === 'county';
	}

	function hoursText(hours) {
		const n = Number(hours);
		if (isNaN(n)) return String(hours);
		return n < 24 ? fmtHours(n) : t('hours_exact', fmtHours(n), n);
	}

	async function viewDeadlines(m, seq) {
		const list = listOf(await api('GET', '/api/deadlines'), 'deadlines');
		if (stale(seq)) return null;
		state.deadlines = list;
		const canSet = maySetDeadlines();
		const head = [t('col_item'), t('col_hours'), t('col_default'), t('col_state')].concat(canSet ? [t('col_actions')] : []);
		const rows = list.map((d) => {
			const changed = Number(d.hours) !== Number(d.default_hours);
			const itemText = enumLabel('deadline', 'item', d.item);
			const tr = h('tr', { class: changed ? 'warn' : null, dataset: { item: d.item } },
				h('th', { scope: 'row' }, lang === 'en' || itemText === d.item ? itemText || d.item_zh : d.item_zh || itemText, h('span', { class: 'req-code mono', text: d.item })),
				td(hoursText(d.hours), 'nowrap'),
				td(hoursText(d.default_hours), 'nowrap muted'),
				h('td', null, h('span', { class: 'state ' + (changed ? 'pending' : 'ok'), text: changed ? t('changed') : t('as_default') })));
			if (canSet) tr.append(h('td', null, deadlineButton(d)));
			return tr;
		});
		return h('div', null, pageHead(t('deadlines_title')),
			h('p', { class: 'lead', text: t('deadlines_note') + (canSet ? '' : ' ' + t('deadlines_readonly')) }),
			section(null, stacked(table('deadlines-table', head, rows))));
	}

	/* A button opening the form that sets one item's hours, below its row. */
	function deadlineButton(d) {
		const btn = h('button', { type: 'button', class: 'btn small', text: t('change_deadline') });
		btn.addEventListener('click', () => {
			const tr = btn.closest('tr');
			const below = tr.nextElementSibling;
			const wasOpen = below && below.classList.contains('form-row') && below.dataset.for === d.item;
			for (const row of tr.parentNode.querySelectorAll('tr.form-row')) row.remove();
			if (wasOpen) return;
			const def = kindDef('deadline');
			const hoursDef = (def && def.byName.hours) || { name: 'hours', zh: '时限（小时）', en: 'hours', type: 'int', required: true, min: 1 };
			const basisDef = (def && def.byName.basis) || { name: 'basis', zh: '依据', en: 'basis', type: 'text' };
			const form = modelForm({
				id: 'deadline-form', kind: 'deadline',
				fields: [hoursDef, Object.assign({}, basisDef, { required: true })], // the county's decision is named
				action: '/api/deadlines/' + encodeURIComponent(d.item),
				onCancel: () => tr.nextElementSibling.remove(),
				onDone: (answer) => {
					const fresh = listOf(answer, 'deadlines');
					if (fresh.length) state.deadlines = fresh;
					go('#/deadlines', t('saved'));
				},
			});
			form.elements.namedItem('hours').value = String(d.hours);
			tr.after(h('tr', { class: 'form-row', dataset: { for: d.item } }, h('td', { colspan: tr.children.length }, form)));
			form.elements.namedItem('hours').focus();
		});
		return btn;
	}

	/* ------------------------------------------------------------------ */
	/* Moving a child (#/child/ID/move) (R3.1)                              */
	/* ------------------------------------------------------------------ */

	/* A township's or the county's person, on a node above a village. */
	function mayMove() {
		return may('child') && level() !== 'village' && unitLevel(ownUnit()) !== 'village';
	}

	async function viewMove(m, seq) {
		const id = m[1];
		const file = await api('GET', '/api/children/' + encodeURIComponent(id));
		if (stale(seq)) return null;
		const child = fileRecords(file, 'child')[0] || { values: {} };
		const cid = file.id || id;
		const base = '#/child/' + encodeURIComponent(cid);
		const name = val(child, 'name') || cid;
		const current = val(child, 'village_code') || '';
		const names = await villageNames([current]);
		const currentName = names.get(current) || file.village || current;
		const f = { name: 'to', zh: t('move_to'), en: t('move_to'), required: true };
		const error = h('div', { id: 'form-error', class: 'form-error', role: 'alert', hidden: true });
		const submit = h('button', { type: 'submit', class: 'btn primary', text: t('move_submit') });
		const form = h('form', { id: 'move-form', class: 'model-form', novalidate: true },
			h('div', { class: 'fields' }, villagePicker(f, '', { current, label: t('move_to') })),
			error,
			h('div', { class: 'form-actions' }, submit, link(base, t('cancel'), 'btn')));
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			const to = form.elements.namedItem('to');
			const code = to ? to.value.trim() : '';
			error.hidden = true;
			submit.disabled = true;
			try {
				await api('POST', '/api/children/' + encodeURIComponent(cid) + '/move', { form: { to: code } });
				const after = await villageNames([code]);
				state.overviews.clear(); // counts and units have changed
				go(base, t('moved', currentName, after.get(code) || code));
			} catch (e) {
				error.textContent = e.message; // the node's words, verbatim
				error.hidden = false;
				if (to) to.classList.add('invalid');
			} finally {
				submit.disabled = false;
			}
		});
		return h('div', { class: 'form-page' },
			h('nav', { class: 'breadcrumb' }, h('ol', null, h('li', null, link(base, name)), h('li', { 'aria-current': 'page', text: t('move_child') }))),
			pageHead(t('form_for', t('move_title'), name)),
			h('p', { class: 'lead', text: t('move_note') }),
			section(null, h('p', { class: 'move-current' }, t('move_current', currentName), current ? h('span', { class: 'mono muted small', text: ' ' + current }) : null), form));
	}

	/* ------------------------------------------------------------------ */
	/* Start                                                                */
	/* ------------------------------------------------------------------ */

	async function boot() {
		window.addEventListener('hashchange', route);
		document.addEventListener('click', closeMoreOn);
		document.addEventListener('keydown', closeMoreOn);
		try {
			await startSession();
		} catch (e) {
			state.session = null;
			showLogin(e.status === 401 ? '' : e.message);
		}
	}

	if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
	else boot();
})();

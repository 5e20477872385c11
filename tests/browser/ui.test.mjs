// The web pages in Debian's headless Chromium (issue #6), driven by
// playwright-core; started by test_ui.sh, which runs the nodes and passes
// everything in the environment:
//   UI_VILLAGE_URL, UI_COUNTY_URL      the pages of the village and the county
//   UI_TOWNSHIP, UI_VILLAGE            the township's and the village's codes
//   UI_VILLAGE_LOGIN/_PASSWORD         the village's care liaison
//   UI_COUNTY_LOGIN/_PASSWORD          the county's civil affairs
//   UI_CHILD_NAME, _ID, _BAD_ID, _SEX, _BIRTH, _ADDRESS   the child to file
//   UI_SYNC                            a command: the village syncs up to the county
//   UI_SHOTS                           where the screenshots go
//   UI_CHROMIUM                        the browser (/usr/bin/chromium)
// Prints "ok - STEP" or "FAIL: STEP: why" per step and, last,
// "browser: N passed, N failed". A phase (the village, the county) stops at
// its first failure, with a screenshot of the page as it was.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const env = process.env;
for (const k of ['UI_VILLAGE_URL', 'UI_COUNTY_URL', 'UI_TOWNSHIP', 'UI_VILLAGE', 'UI_CHILD_NAME',
	'UI_CHILD_ID', 'UI_CHILD_BAD_ID', 'UI_SYNC', 'UI_SHOTS']) {
	if (!env[k]) {
		console.error(`ui.test.mjs: ${k} is not set (run it through test_ui.sh)`);
		process.exit(2);
	}
}
const STEP_MS = 8000; // a step's wait; the pages answer in milliseconds
const DESKTOP = { width: 1366, height: 768 };
const PHONE = { width: 390, height: 844 };
const child = {
	name: env.UI_CHILD_NAME, id: env.UI_CHILD_ID, badId: env.UI_CHILD_BAD_ID,
	sex: env.UI_CHILD_SEX || 'male', birth: env.UI_CHILD_BIRTH || '', address: env.UI_CHILD_ADDRESS || '一街',
};

let passed = 0, failed = 0, shotNo = 0;
const shots = [];
class Stop extends Error {}

async function shot(page, name) {
	const file = path.join(env.UI_SHOTS, `${String(++shotNo).padStart(2, '0')}-${name}.png`);
	await page.screenshot({ path: file, timeout: STEP_MS });
	shots.push(file);
}
const oneLine = (s) => String(s).split('\n').filter((l) => l.trim() && !/^\s*=+/.test(l))[0] || String(s);
// step(PAGE, NAME, FN): a check; on failure a screenshot, and the phase stops
async function step(page, name, fn) {
	try {
		const note = await fn();
		passed++;
		console.log(`ok - ${name}${note ? ` (${note})` : ''}`);
	} catch (e) {
		failed++;
		console.log(`FAIL: ${name}: ${oneLine(e.message)}`);
		try {
			await shot(page, `FAILED-${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 40)}`);
		} catch {}
		throw new Stop();
	}
}
async function phase(name, fn) {
	console.log(`== ${name}`);
	try {
		await fn();
	} catch (e) {
		if (!(e instanceof Stop)) {
			failed++;
			console.log(`FAIL: ${name}: ${oneLine(e.stack || e.message)}`);
		} else {
			console.log(`   (the rest of "${name}" is not run)`);
		}
	}
}
// what the page says went wrong (script errors, server errors), for the log
function watch(page, who) {
	page.setDefaultTimeout(STEP_MS);
	page.on('pageerror', (e) => console.log(`   [${who} page error] ${oneLine(e.message)}`));
	page.on('console', (m) => m.type() === 'error' && !/^Failed to load resource/.test(m.text()) &&
		console.log(`   [${who} console] ${oneLine(m.text())}`));
	// a missing route or page, or a server error (401 and 400 are the pages' business)
	page.on('response', (r) => (r.status() >= 500 || (r.status() === 404 && !/favicon/.test(r.url()))) &&
		console.log(`   [${who}] ${r.status()} ${r.request().method()} ${r.url()}`));
}
const text = async (loc) => ((await loc.textContent({ timeout: STEP_MS })) || '').trim();
const hashIs = (page, re) => page.waitForFunction((src) => new RegExp(src).test(location.hash), re.source);
const count = (s) => {
	const m = String(s).replace(/[,，\s]/g, '').match(/\d+/);
	if (!m) throw new Error(`no number in "${s}"`);
	return Number(m[0]);
};

// login(PAGE, BASE, LOGIN, PASSWORD): the login form, submitted
async function login(page, base, user, password) {
	if (!(await page.locator('form#login-form').isVisible()))
		await page.goto(base + '/');
	await page.locator('form#login-form').waitFor();
	await page.fill('#login', user);
	await page.fill('#password', password);
	await page.click('#login-submit');
}
async function loggedIn(page, user) {
	await page.locator('#whoami').waitFor({ state: 'visible' });
	await page.locator('form#login-form').waitFor({ state: 'hidden' });
	return `#whoami: ${await text(page.locator('#whoami'))}`;
}

// setField(FORM, NAME, VALUE): an input, select, textarea, radio or checkbox by its model field name
async function setField(form, name, value) {
	const els = form.locator(`[name="${name}"]`);
	if ((await els.count()) === 0) return false;
	const el = els.first();
	const { tag, type } = await el.evaluate((e) => ({ tag: e.tagName.toLowerCase(), type: (e.type || '').toLowerCase() }));
	if (tag === 'select') {
		const opts = await el.evaluate((e) => [...e.options].map((o) => ({ v: o.value, t: o.text })));
		const o = opts.find((o) => o.v === value) || opts.find((o) => o.t.includes(value));
		await el.selectOption(o ? o.v : value);
	} else if (type === 'radio') {
		await form.locator(`[name="${name}"][value="${value}"]`).check();
	} else if (type === 'checkbox') {
		await el.setChecked(Boolean(value) && value !== '0' && value !== 'false');
	} else {
		await el.fill(value);
	}
	return true;
}
// fillRequired(FORM): any other required field the page asks for and left empty
async function fillRequired(form) {
	const empty = await form.evaluate((f) =>
		[...f.querySelectorAll('[required]')]
			.filter((e) => e.name && !e.disabled && (e.type === 'radio' ? !f.querySelector(`[name="${e.name}"]:checked`) : !e.value))
			.map((e) => ({ name: e.name, tag: e.tagName.toLowerCase(), type: (e.type || '').toLowerCase(),
				values: e.options ? [...e.options].map((o) => o.value).filter(Boolean) : [], value: e.value })));
	const filled = [];
	for (const f of empty) {
		let v;
		if (f.name === 'village_code') v = env.UI_VILLAGE;
		else if (f.tag === 'select') v = f.values[0];
		else if (f.type === 'radio') v = f.value;
		else if (f.type === 'date') v = '2015-03-04';
		else if (f.type === 'datetime-local') v = '2026-01-05T10:00';
		else if (f.type === 'number') v = '1';
		else if (f.type === 'tel') v = '13800000000';
		else v = '测试';
		if (v !== undefined && (await setField(form, f.name, v))) filled.push(f.name);
	}
	return filled;
}

const browser = await chromium.launch({
	executablePath: env.UI_CHROMIUM || '/usr/bin/chromium',
	headless: true,
	// the machine's network is closed: no background connections, or
	// Chromium waits on them; Playwright gives it a fresh temporary profile
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	timeout: 30000,
});
console.log(`Chromium ${browser.version()}`);

try {
	// ---- the village: log in, file a child, a bad ID first ----
	const vctx = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN' });
	const vp = await vctx.newPage();
	watch(vp, 'village');
	await phase('village', async () => {
		await step(vp, 'the village page shows the login form', async () => {
			await vp.goto(env.UI_VILLAGE_URL + '/');
			await vp.locator('form#login-form').waitFor({ state: 'visible' });
			for (const s of ['#login', '#password', '#login-submit'])
				await vp.locator(s).waitFor({ state: 'visible' });
			await shot(vp, 'village-login');
		});
		await step(vp, 'a wrong password shows an error in #login-error', async () => {
			await login(vp, env.UI_VILLAGE_URL, env.UI_VILLAGE_LOGIN, 'not-the-password');
			const err = vp.locator('#login-error');
			await err.waitFor({ state: 'visible' });
			await vp.waitForFunction(() => document.querySelector('#login-error')?.textContent.trim());
			if (await vp.locator('#whoami').isVisible()) throw new Error('logged in with a wrong password');
			await shot(vp, 'village-login-wrong-password');
			return `"${await text(err)}"`;
		});
		await step(vp, 'the village care liaison logs in', async () => {
			await login(vp, env.UI_VILLAGE_URL, env.UI_VILLAGE_LOGIN, env.UI_VILLAGE_PASSWORD);
			const note = await loggedIn(vp, env.UI_VILLAGE_LOGIN);
			await shot(vp, 'village-home');
			return note;
		});
		const form = vp.locator('form#child-form');
		await step(vp, '#/child/new shows form#child-form', async () => {
			await vp.goto(env.UI_VILLAGE_URL + '/#/child/new');
			await form.waitFor({ state: 'visible' });
			for (const f of ['name', 'id_number', 'household_address'])
				if ((await form.locator(`[name="${f}"]`).count()) === 0) throw new Error(`no field named ${f}`);
		});
		await step(vp, 'a bad resident ID: the server\'s error in #form-error names the ID', async () => {
			await setField(form, 'name', child.name);
			await setField(form, 'id_number', child.badId);
			await setField(form, 'household_address', child.address);
			await setField(form, 'sex', child.sex);
			if (child.birth) await setField(form, 'birth_date', child.birth);
			const extra = await fillRequired(form);
			await shot(vp, 'village-child-form');
			await form.locator('button[type=submit]').first().click();
			const err = vp.locator('#form-error');
			await err.waitFor({ state: 'visible' });
			await vp.waitForFunction(() => document.querySelector('#form-error')?.textContent.trim());
			const msg = await text(err);
			if (!/身份证|身份号码|\bID\b|id_number/i.test(msg)) throw new Error(`#form-error does not name the ID: "${msg}"`);
			if (!/^#\/child\/new/.test(await vp.evaluate(() => location.hash))) throw new Error('the page left the form');
			await err.scrollIntoViewIfNeeded();
			await shot(vp, 'village-child-bad-id');
			return `"${msg}"${extra.length ? `; also filled ${extra.join(', ')}` : ''}`;
		});
		await step(vp, 'the right ID: the page goes to #/child/ID and #child-file h2 has the name', async () => {
			await setField(form, 'id_number', child.id);
			await form.locator('button[type=submit]').first().click();
			await hashIs(vp, /^#\/child\/(?!new$)[^/]+$/);
			await vp.locator('#child-file h2').filter({ hasText: child.name }).waitFor({ state: 'visible' });
			await shot(vp, 'village-child-file');
			return vp.url().replace(/^[^#]*/, '');
		});
		// R5: the mandatory report, filed on the page, must reach the county
		await step(vp, 'a mandatory report on the child: form#event-form, back to the file', async () => {
			const file = await vp.evaluate(() => location.hash);
			await vp.goto(env.UI_VILLAGE_URL + '/' + file + '/report');
			const ev = vp.locator('form#event-form');
			await ev.waitFor({ state: 'visible' });
			await setField(ev, 'reporter_type', 'school');
			await setField(ev, 'reporter', '洼张小学 李老师');
			await setField(ev, 'situation', 'domestic_violence');
			await setField(ev, 'details', '孩子身上多处淤青');
			const today = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
			await setField(ev, 'found_date', today);
			await setField(ev, 'date', today);
			const extra = await fillRequired(ev);
			await ev.locator('button[type=submit]').first().click();
			await hashIs(vp, /^#\/child\/(?!new$)[^/]+$/);
			await vp.locator('#child-file').filter({ hasText: '洼张小学 李老师' }).waitFor({ state: 'visible' });
			await shot(vp, 'village-report-filed');
			return extra.length ? `also filled ${extra.join(', ')}` : '';
		});
	});

	// ---- the county before the sync, the sync, the county after ----
	const kctx = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN' });
	const kp = await kctx.newPage();
	watch(kp, 'county');
	const stat = kp.locator('[data-stat="children"] .value');
	const readStat = async () => {
		await kp.locator('#overview').waitFor({ state: 'visible' });
		await kp.waitForFunction(() => /\d/.test(document.querySelector('[data-stat="children"] .value')?.textContent || ''));
		return count(await text(stat));
	};
	let before = null, reportsBefore = null, childHash = null;
	await phase('county before the sync', async () => {
		await step(kp, 'the county\'s civil affairs logs in', async () => {
			await kp.goto(env.UI_COUNTY_URL + '/');
			await login(kp, env.UI_COUNTY_URL, env.UI_COUNTY_LOGIN, env.UI_COUNTY_PASSWORD);
			return loggedIn(kp, env.UI_COUNTY_LOGIN);
		});
		await step(kp, '#/overview: the county\'s children before the sync', async () => {
			await kp.goto(env.UI_COUNTY_URL + '/#/overview');
			before = await readStat();
			reportsBefore = count(await text(kp.locator('[data-stat="open_reports"] .value')));
			await shot(kp, 'county-overview-before-sync');
			return `${before} children, ${reportsBefore} open reports`;
		});
	});

	await phase('sync village -> township -> county', async () => {
		await step(kp, 'the village syncs up until the county holds its state', async () => {
			const t0 = Date.now();
			execFileSync(env.UI_SYNC, { stdio: 'inherit', timeout: 40000 });
			return `${Date.now() - t0} ms`;
		});
	});

	await phase('county after the sync', async () => {
		await step(kp, '#/overview: more children at the county than before the sync', async () => {
			if (!(await kp.locator('#whoami').isVisible())) {
				await login(kp, env.UI_COUNTY_URL, env.UI_COUNTY_LOGIN, env.UI_COUNTY_PASSWORD);
				await loggedIn(kp, env.UI_COUNTY_LOGIN);
			}
			await kp.goto(env.UI_COUNTY_URL + '/#/overview');
			await kp.reload();
			const after = await readStat();
			if (before === null) throw new Error(`${after} now, but the count before the sync was not read`);
			// greater, and by exactly the one child filed in the browser
			if (after !== before + 1) throw new Error(`${after} children, ${before} before the sync`);
			if (await kp.locator('svg.chart').count() === 0) console.log('   (note: no svg.chart on the overview)');
			await shot(kp, 'county-overview-after-sync');
			return `${before} -> ${after}`;
		});
		await step(kp, 'the village\'s mandatory report has reached the county (R5)', async () => {
			const open = count(await text(kp.locator('[data-stat="open_reports"] .value')));
			if (reportsBefore === null || open !== reportsBefore + 1)
				throw new Error(`${open} open reports, ${reportsBefore} before the sync`);
			await kp.goto(env.UI_COUNTY_URL + '/#/reports');
			await kp.locator('#reports-table').filter({ hasText: child.name }).waitFor({ state: 'visible' });
			await shot(kp, 'county-reports');
			await kp.goto(env.UI_COUNTY_URL + '/#/overview');
			await readStat();
			return `${reportsBefore} -> ${open}`;
		});
		await step(kp, 'drill down: the township\'s row', async () => {
			await kp.locator(`#units-table tr[data-code="${env.UI_TOWNSHIP}"] a`).first().click();
			await hashIs(kp, new RegExp(`^#/overview/${env.UI_TOWNSHIP}$`));
			await kp.locator(`#units-table tr[data-code="${env.UI_VILLAGE}"]`).waitFor({ state: 'visible' });
			await kp.locator('#units-table').scrollIntoViewIfNeeded();
			await shot(kp, 'county-township');
		});
		await step(kp, 'drill down: the village\'s row, its #children-table has the child', async () => {
			await kp.locator(`#units-table tr[data-code="${env.UI_VILLAGE}"] a`).first().click();
			await hashIs(kp, new RegExp(`^#/overview/${env.UI_VILLAGE}$`));
			await kp.locator('#children-table').filter({ hasText: child.name }).waitFor({ state: 'visible' });
			await kp.locator('#children-table').scrollIntoViewIfNeeded();
			await shot(kp, 'county-village');
		});
		await step(kp, 'the child\'s file at the county shows the name', async () => {
			const link = kp.locator('#children-table tr').filter({ hasText: child.name }).locator('a[href^="#/child/"]').first();
			await link.click();
			await hashIs(kp, /^#\/child\/(?!new$)[^/]+$/);
			await kp.locator('#child-file h2').filter({ hasText: child.name }).waitFor({ state: 'visible' });
			await shot(kp, 'county-child-file');
			childHash = await kp.evaluate(() => location.hash);
			return childHash;
		});
	});

	// ---- the same session on a phone ----
	await phase('phone', async () => {
		const pctx = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 1, isMobile: true, hasTouch: true,
			locale: 'zh-CN', storageState: await kctx.storageState() });
		const pp = await pctx.newPage();
		watch(pp, 'phone');
		await step(pp, 'the county\'s overview at phone size (390x844)', async () => {
			await pp.goto(env.UI_COUNTY_URL + '/#/overview');
			if (!(await pp.locator('#whoami').isVisible().catch(() => false)) &&
				await pp.locator('form#login-form').isVisible()) {
				await login(pp, env.UI_COUNTY_URL, env.UI_COUNTY_LOGIN, env.UI_COUNTY_PASSWORD);
				await pp.goto(env.UI_COUNTY_URL + '/#/overview');
			}
			await pp.locator('#overview').waitFor({ state: 'visible' });
			const wide = await pp.evaluate(() => document.documentElement.scrollWidth);
			await shot(pp, 'phone-county-overview');
			if (wide > PHONE.width + 1) console.log(`   (note: the page is ${wide} px wide on a ${PHONE.width} px phone)`);
		});
		await step(pp, 'the child\'s file at phone size', async () => {
			if (!childHash) throw new Error('the county never showed the child\'s file');
			await pp.goto(`${env.UI_COUNTY_URL}/${childHash}`);
			await pp.locator('#child-file h2').filter({ hasText: child.name }).waitFor({ state: 'visible' });
			await shot(pp, 'phone-child-file');
		});
	});
} finally {
	await browser.close();
}

console.log(`screenshots: ${shots.length}`);
for (const f of shots) console.log(`  ${f}`);
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

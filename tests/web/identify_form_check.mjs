// The identification form (/identify) in the browser, called by
// verify_page_test.mjs with its registry: a jeweler's token and the
// registered ring's own file as the scan give "Identified" naming the
// piece; a wrong token is refused in words (read before the scan is, and
// answered while the browser is still sending it), not as a network error.
import path from 'node:path';

export async function checkIdentifyForm(
    {context, base, token, scan, piece, check, artifacts}) {
  const page = await context.newPage();
  await page.goto(`${base}/identify`);
  const submit = async (withToken) => {
    await page.fill('#token', withToken);
    await page.setInputFiles('#scan', scan);
    await page.click('button[type=submit]');
    await page.waitForFunction(
        () => document.querySelector('#answer .verdict, #answer .error'),
        null, {timeout: 120000});
    return page.textContent('#answer');
  };
  const found = await submit(token);
  check(/^Identified/.test(found) && found.includes(piece),
        `identification form: ${found.slice(0, 160)}`);
  check(/Download the registry's signed statement/.test(found),
        'identification form: the signed statement is offered');
  await page.screenshot({path: path.join(artifacts, 'identify-form.png'),
                         fullPage: true});
  const refused = await submit('not-a-token');
  check(/^Not identified: /.test(refused) && !/could not be reached/.test(refused),
        `identification form, wrong token: ${refused.slice(0, 160)}`);
  await page.close();
}

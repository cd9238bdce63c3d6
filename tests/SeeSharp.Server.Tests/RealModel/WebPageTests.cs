using Microsoft.Playwright;
using SeeSharp.Testing;

namespace SeeSharp.Server.Tests;

/// <summary>
/// The chat page at <c>/</c> in a real browser (Playwright driving Debian's Chromium at /usr/bin/chromium; skipped
/// when it is absent: <c>apt-get install -y chromium</c>): attach an image with the file picker, ask, see the
/// streamed answer, ask a follow-up with a second image. Compared against: the public API's <c>GenerateAsync</c>
/// for the same conversation (exact text). A screenshot goes to artifacts/server-chat-page.png.
/// </summary>
public sealed class WebPageTests(TinyModelHost tiny) : IClassFixture<TinyModelHost>
{
    private const string Chromium = "/usr/bin/chromium";

    [SkippableFact]
    public async Task ChatPageUploadsAnImageStreamsTheAnswerAndContinuesTheConversation()
    {
        Skip.IfNot(File.Exists(Chromium), $"{Chromium} is not installed (apt-get install -y chromium)");
        string q1 = "What do we see in this image?", q2 = "And how about this image?";
        var first = (await tiny.ExpectedAsync(new Chat().User(Image.FromBytes(TinyModelHost.Png("chelsea.png")), q1))).Text;
        var second = (await tiny.ExpectedAsync(new Chat()
            .User(Image.FromBytes(TinyModelHost.Png("chelsea.png")), q1)
            .Assistant(first)
            .User(Image.FromBytes(TinyModelHost.Png("coffee.png")), q2))).Text;

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1000, Height = 760 } });
        var consoleErrors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") consoleErrors.Add(m.Text); };
        await page.GotoAsync(tiny.Host.Address.ToString());

        await page.FillAsync("#apikey", TinyModelHost.ApiKey);
        await page.DispatchEventAsync("#apikey", "change");
        await page.FillAsync("#maxtokens", TinyModelHost.MaxTokens.ToString(System.Globalization.CultureInfo.InvariantCulture));

        await Ask(page, "chelsea.png", q1, 1);
        Assert.Equal(first, await page.TextContentAsync(".msg.assistant >> nth=0 >> .text"));
        await Ask(page, "coffee.png", q2, 2);
        Assert.Equal(second, await page.TextContentAsync(".msg.assistant >> nth=1 >> .text"));
        Assert.Contains("finish: length", await page.TextContentAsync(".msg.assistant >> nth=1 >> .usage"));
        Assert.Equal(2, await page.Locator(".msg.user img").CountAsync());
        Assert.Empty(consoleErrors);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Screenshot("server-chat-page.png"), FullPage = true });

        // Drag and drop, then paste: each adds an attachment (a PNG file made in the page from base64; the page's
        // Content-Security-Policy lets it fetch nothing but its own server).
        await page.ClickAsync("#clear");
        var png = Convert.ToBase64String(TinyModelHost.Png("logo.png"));
        await page.EvaluateAsync(@"b64 => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const file = new File([bytes], 'logo.png', { type: 'image/png' });
            const drop = new DataTransfer(); drop.items.add(file);
            document.dispatchEvent(new DragEvent('drop', { dataTransfer: drop, bubbles: true, cancelable: true }));
            const paste = new DataTransfer(); paste.items.add(file);
            document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: paste, bubbles: true, cancelable: true }));
        }", png);
        await page.WaitForSelectorAsync("#attachments .thumb >> nth=1");
        Assert.Equal(2, await page.Locator("#attachments .thumb img").CountAsync());
        Assert.Equal(0, await page.Locator(".msg").CountAsync());

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Screenshot("server-chat-page-attachments.png") });
    }

    private static string Screenshot(string name)
    {
        var artifacts = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Fixtures.Root))!, "artifacts");
        Directory.CreateDirectory(artifacts);
        return Path.Combine(artifacts, name);
    }

    /// <summary>Attaches an image with the file picker, types the question, sends, and waits for the answer to finish streaming.</summary>
    private static async Task Ask(IPage page, string image, string question, int answers)
    {
        await page.SetInputFilesAsync("#file", Fixtures.Path("images", image));
        await page.WaitForSelectorAsync("#attachments .thumb img");
        await page.FillAsync("#prompt", question);
        await page.ClickAsync("#send");
        await page.WaitForSelectorAsync($".msg.assistant[data-done='true'] >> nth={answers - 1}", new PageWaitForSelectorOptions { Timeout = 60_000 });
    }
}

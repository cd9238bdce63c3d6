return await SeeSharp.Cli.CliApp.RunAsync(args);

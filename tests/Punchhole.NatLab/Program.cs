using Punchhole.NatLab;

// natlab: the NAT lab from the command line (root only).
//   natlab trials [N] [--variant NAME]... [--markdown FILE]   the N-trial measurement (default 20)
//   natlab up VARIANT                                          build a lab, print it, tear it down on Enter
//   natlab clean                                               remove labs left by killed runs
//   natlab rules VARIANT                                       print the routers' iptables rules
return await Cli.RunAsync(args);

"""A local CloudFormation: deploys infra/template.yaml into the emulator as `sam deploy` would.

What `sam deploy` (infra/samconfig.toml) and CloudFormation do, in order:
  1. package: every local artefact goes to S3 and its property becomes an S3 location
     (CodeUri -> Code {S3Bucket, S3Key}; DefinitionUri -> DefinitionS3Location);
  2. the AWS::Serverless-2016-10-31 transform, by the same library CloudFormation runs
     (aws-sam-translator, pinned in tests/emulator/requirements.txt);
  3. parameters (the template's defaults, samconfig.toml's parameter_overrides, then the
     caller's), conditions, and every resource in dependency order with its intrinsic
     functions resolved (Ref, Fn::GetAtt, Fn::Sub, Fn::If, Fn::Join, Fn::Select, Fn::Split,
     Fn::Equals/Not/And/Or, Condition, AWS::NoValue and the pseudo parameters), each created
     through the service's own API on the emulator; resources without an explicit name get
     CloudFormation's generated one (`<stack>-<LogicalId>-<13 random characters>`, cut to
     the service's length limit);
  4. the stack itself, with its resolved Outputs, in the emulator's CloudFormation (what
     `rbg` reads to find the state machines).

Functions are not zips: the local Lambda service (tests/local/lambda_service.py) runs the
binary that `cargo build` made for the CodeUri's folder (`../target/lambda/<bin>/` ->
`target/debug/<bin>`), with the function's environment, timeout, memory and role.

Nothing here knows the template's resource names: what the harness needs (the machines, the
functions, the topic) it reads from the deployment by type and from the Outputs.
"""

import json
import random
import re
import string
import tomllib
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
SAMCONFIG = ROOT / "infra" / "samconfig.toml"
ARTIFACT_BUCKET = "rds-bluegreen-sam-artifacts"

PARTITIONS = {"cn-": ("aws-cn", "amazonaws.com.cn"), "us-gov-": ("aws-us-gov", "amazonaws.com")}


def partition_of(region):
    for prefix, (partition, suffix) in PARTITIONS.items():
        if region.startswith(prefix):
            return partition, suffix
    return "aws", "amazonaws.com"


class DeployError(RuntimeError):
    """What CloudFormation would report as CREATE_FAILED / a template error."""


def samconfig():
    """(stack name, {parameter: value}) of infra/samconfig.toml's default environment."""
    conf = tomllib.loads(SAMCONFIG.read_text())["default"]
    name = conf["global"]["parameters"]["stack_name"]
    overrides = conf["deploy"]["parameters"].get("parameter_overrides", "")
    params = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', overrides))
    return name, params


def load_template(path=TEMPLATE):
    from samtranslator.yaml_helper import yaml_parse
    return yaml_parse(Path(path).read_text())


# ---------------------------------------------------------------- 1-2. package and transform
def package(template, template_dir, upload):
    """`sam package`: uploads each local artefact (upload(key, path) -> (bucket, key)) and
    points the property at S3. Returns {function logical id: the folder CodeUri named}."""
    code_dirs = {}
    for name, res in template["Resources"].items():
        props = res.get("Properties") or {}
        if res["Type"] == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            folder = (template_dir / props["CodeUri"]).resolve()
            code_dirs[name] = folder
            bucket, key = upload(f"{name}.json", json.dumps({"CodeUri": str(folder)}).encode())
            props["CodeUri"] = f"s3://{bucket}/{key}"
        if res["Type"] == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            path = (template_dir / props["DefinitionUri"]).resolve()
            bucket, key = upload(path.name, path.read_bytes())
            props["DefinitionUri"] = f"s3://{bucket}/{key}"
    return code_dirs


def sam_transform(template, parameters, region):
    import os

    from samtranslator.translator.transform import transform

    class NoManagedPolicies:  # the template attaches no managed policy by name
        def load(self):
            return {}

    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator reads the Region from here
    try:
        return transform(template, dict(parameters), NoManagedPolicies())
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


# ---------------------------------------------------------------- 3. intrinsic functions
NO_VALUE = object()


class Resolver:
    def __init__(self, stack):
        self.stack = stack

    def __call__(self, value):
        s = self.stack
        if isinstance(value, list):
            out = [self(v) for v in value]
            return [v for v in out if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return s.ref(arg)
            if key == "Fn::GetAtt":
                name, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return s.get_att(name, attr)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self(arg[1]))
                return s.sub(text, variables)
            if key == "Fn::If":
                cond, yes, no = arg
                return self(yes if s.condition(cond) else no)
            if key == "Fn::Join":
                delim, items = arg
                items = self(items)
                return delim.join(str(i) for i in items)
            if key == "Fn::Select":
                index, items = self(arg)
                return items[int(index)]
            if key == "Fn::Split":
                delim, text = arg
                return self(text).split(delim)
        out = {k: self(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}


def references(value):
    """The resources and parameters a property value refers to (for the creation order)."""
    if isinstance(value, list):
        for v in value:
            yield from references(v)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                yield arg
            elif key == "Fn::GetAtt":
                yield (arg[0] if isinstance(arg, list) else arg.split(".", 1)[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                    yield name.split(".", 1)[0]
                if isinstance(arg, list):
                    yield from references(arg[1])
            else:
                yield from references(arg)


# ---------------------------------------------------------------- the stack
class Stack:
    """One deployment of the template: what CloudFormation made, by logical id."""

    def __init__(self, name, template, parameters, region, account, client, lambdas, code_dirs, bin_dir,
                 env_overrides=None):
        self.name, self.template, self.region, self.account = name, template, region, account
        self.partition, self.url_suffix = partition_of(region)
        self.client, self.lambdas, self.code_dirs, self.bin_dir = client, lambdas, code_dirs, Path(bin_dir)
        self.env_overrides = env_overrides or {}
        self.parameters = self._parameters(parameters)
        self.conditions = {}
        self.physical = {}  # logical id -> Ref value
        self.attrs = {}  # logical id -> {attribute: value}
        self.functions = {}  # logical id -> {"name", "arn", "binary", "role_arn", ...}
        self.resolve = Resolver(self)
        self.rng = random.Random()

    # ------------------------------------------------------------ parameters, conditions
    def _parameters(self, given):
        out = {}
        for name, spec in (self.template.get("Parameters") or {}).items():
            if name in given:
                value = given[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise DeployError(f"Parameters: [{name}] must have values")
            if spec.get("Type") == "CommaDelimitedList":
                value = value if isinstance(value, list) else ([] if value == "" else
                                                               [v.strip() for v in str(value).split(",")])
            else:
                value = str(value)
                allowed = spec.get("AllowedValues")
                if allowed and value not in [str(a) for a in allowed]:
                    raise DeployError(f"Parameter '{name}' must be one of AllowedValues")
                pattern = spec.get("AllowedPattern")
                if pattern and not re.fullmatch(pattern, value):
                    raise DeployError(f"Parameter '{name}' must match pattern {pattern}")
                if "MinLength" in spec and len(value) < int(spec["MinLength"]):
                    raise DeployError(f"Parameter '{name}' must contain at least {spec['MinLength']} characters")
            out[name] = value
        unknown = set(given) - set(out)
        if unknown:
            raise DeployError(f"Parameters: {sorted(unknown)} do not exist in the template")
        return out

    def pseudo(self, name):
        return {"AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::Partition": self.partition,
                "AWS::StackName": self.name, "AWS::URLSuffix": self.url_suffix, "AWS::NoValue": NO_VALUE,
                "AWS::StackId": f"arn:{self.partition}:cloudformation:{self.region}:{self.account}:stack/{self.name}/local"
                }.get(name)

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = bool(self.evaluate_condition(self.template["Conditions"][name]))
        return self.conditions[name]

    def evaluate_condition(self, value):
        if isinstance(value, dict) and len(value) == 1:
            (key, arg), = value.items()
            if key == "Fn::Equals":
                a, b = self.resolve(arg[0]), self.resolve(arg[1])
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.evaluate_condition(arg[0])
            if key == "Fn::And":
                return all(self.evaluate_condition(a) for a in arg)
            if key == "Fn::Or":
                return any(self.evaluate_condition(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
        return self.resolve(value)

    # ------------------------------------------------------------ references
    def ref(self, name):
        pseudo = self.pseudo(name)
        if pseudo is not None:
            return pseudo
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name]
        raise DeployError(f"Ref {name}: no such parameter, or the resource is not created (yet)")

    def get_att(self, name, attr):
        try:
            return self.attrs[name][attr]
        except KeyError:
            raise DeployError(f"Fn::GetAtt {name}.{attr}: not available") from None

    def sub(self, text, variables):
        def one(m):
            inner = m.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in variables:
                return str(variables[inner])
            if "." in inner and not inner.startswith("AWS::"):
                res, attr = inner.split(".", 1)
                return str(self.get_att(res, attr))
            value = self.ref(inner)
            return ",".join(value) if isinstance(value, list) else str(value)

        return re.sub(r"\$\{([^}]*)\}", one, text)

    def generated_name(self, logical, limit):
        """CloudFormation's name for a resource the template does not name."""
        suffix = "".join(self.rng.choice(string.ascii_uppercase + string.digits) for _ in range(13))
        return f"{self.name}-{logical}"[:limit - 14] + "-" + suffix

    # ------------------------------------------------------------ creation
    def levels(self):
        """The resources in waves: each wave depends only on earlier ones (CloudFormation, too,
        creates what does not depend on each other in parallel)."""
        resources = self.template["Resources"]
        deps = {}
        for name, res in resources.items():
            found = set(references(res.get("Properties") or {}))
            depends = res.get("DependsOn") or []
            found |= set([depends] if isinstance(depends, str) else depends)
            deps[name] = {d for d in found if d in resources}
        done, out = set(), []
        while len(done) < len(resources):
            ready = sorted(n for n in resources if n not in done and deps[n] <= done)
            if not ready:
                raise DeployError(f"Circular dependency between resources: {sorted(set(resources) - done)}")
            done.update(ready)
            out.append(ready)
        return out

    def _create(self, name):
        res = self.template["Resources"][name]
        if "Condition" in res and not self.condition(res["Condition"]):
            return
        props = self.resolve(res.get("Properties") or {})
        handler = CREATORS.get(res["Type"])
        if handler is None:
            raise DeployError(f"{name}: resource type {res['Type']} is not deployed locally")
        try:
            handler(self, name, props, res)
        except DeployError:
            raise
        except Exception as e:  # what CloudFormation reports: the resource and the service's error
            raise DeployError(f"{name} ({res['Type']}): CREATE_FAILED: {e}") from e

    def deploy(self):
        from concurrent.futures import ThreadPoolExecutor
        for name in self.template.get("Conditions") or {}:
            self.condition(name)
        with ThreadPoolExecutor(max_workers=8) as pool:
            for wave in self.levels():
                for future in [pool.submit(self._create, name) for name in wave]:
                    future.result()
        self.outputs = {}
        for name, out in (self.template.get("Outputs") or {}).items():
            if "Condition" in out and not self.condition(out["Condition"]):
                continue
            self.outputs[name] = self.resolve(out["Value"])
        return self

    def recreate(self, *types):
        """Creates again the resources of these types (after the emulator dropped a service's
        state, e.g. CloudWatch's alarms with its metrics)."""
        for name, res in self.template["Resources"].items():
            if res["Type"] in types and name in self.physical:
                self._create(name)

    # ------------------------------------------------------------ what the harness reads
    def by_type(self, kind):
        return [n for n, r in self.template["Resources"].items() if r["Type"] == kind and n in self.physical]

    def function_arn(self, binary):
        """The ARN of the function that runs `binary` (its CodeUri's folder name)."""
        for f in self.functions.values():
            if f["binary"] == binary:
                return f["arn"]
        raise KeyError(f"no function of this stack runs {binary}")

    def function_name(self, binary):
        return self.function_arn(binary).rsplit(":", 1)[-1]

    def role_of_function(self):
        """{role ARN: binary} for every function."""
        return {f["role_arn"]: f["binary"] for f in self.functions.values()}


# ---------------------------------------------------------------- one creator per resource type
def _tags(props):
    return [t for t in props.get("Tags") or []]


def create_kms_key(stack, name, props, res):
    kms = stack.client("kms")
    key = kms.create_key(Description=props.get("Description", ""), Policy=json.dumps(props["KeyPolicy"]),
                         Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in _tags(props)])["KeyMetadata"]
    if props.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=key["KeyId"])
    stack.physical[name] = key["KeyId"]
    stack.attrs[name] = {"Arn": key["Arn"], "KeyId": key["KeyId"]}


def create_kms_alias(stack, name, props, res):
    stack.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
    stack.physical[name] = props["AliasName"]
    stack.attrs[name] = {}


def create_sns_topic(stack, name, props, res):
    topic = props.get("TopicName") or stack.generated_name(name, 256)
    attributes = {k: str(props[p]) for k, p in (("KmsMasterKeyId", "KmsMasterKeyId"),
                                                 ("DisplayName", "DisplayName")) if p in props}
    arn = stack.client("sns").create_topic(Name=topic, Attributes=attributes, Tags=_tags(props))["TopicArn"]
    stack.physical[name] = arn
    stack.attrs[name] = {"TopicArn": arn, "TopicName": topic}


def create_sns_subscription(stack, name, props, res):
    arn = stack.client("sns").subscribe(TopicArn=props["TopicArn"], Protocol=props["Protocol"],
                                        Endpoint=props["Endpoint"])["SubscriptionArn"]
    stack.physical[name] = arn
    stack.attrs[name] = {}


def create_log_group(stack, name, props, res):
    group = props.get("LogGroupName") or stack.generated_name(name, 512)
    logs = stack.client("logs")
    kwargs = {"kmsKeyId": props["KmsKeyId"]} if props.get("KmsKeyId") else {}
    logs.create_log_group(logGroupName=group, **kwargs)
    if props.get("RetentionInDays"):
        logs.put_retention_policy(logGroupName=group, retentionInDays=int(props["RetentionInDays"]))
    stack.physical[name] = group
    stack.attrs[name] = {"Arn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{group}:*"}


def create_iam_role(stack, name, props, res):
    iam = stack.client("iam")
    role = props.get("RoleName") or stack.generated_name(name, 64)
    created = iam.create_role(RoleName=role, Path=props.get("Path", "/"),
                              AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]),
                              Description=props.get("Description", ""))["Role"]
    for policy in props.get("Policies") or []:
        iam.put_role_policy(RoleName=role, PolicyName=policy["PolicyName"],
                            PolicyDocument=json.dumps(policy["PolicyDocument"]))
    for arn in props.get("ManagedPolicyArns") or []:
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    stack.physical[name] = role
    stack.attrs[name] = {"Arn": created["Arn"], "RoleId": created["RoleId"]}


def create_iam_policy(stack, name, props, res):
    iam = stack.client("iam")
    for role in props.get("Roles") or []:
        iam.put_role_policy(RoleName=role, PolicyName=props["PolicyName"],
                            PolicyDocument=json.dumps(props["PolicyDocument"]))
    stack.physical[name] = f"{stack.name}-{name}"
    stack.attrs[name] = {}


def create_lambda_function(stack, name, props, res):
    """Registered with the local Lambda service, which runs target/debug/<bin> for a CodeUri
    folder target/lambda/<bin>/ (what cargo lambda would have packaged)."""
    function = props.get("FunctionName") or stack.generated_name(name, 64)
    folder = stack.code_dirs.get(name)
    if folder is None:
        raise DeployError(f"{name}: no local CodeUri folder")
    binary = folder.name
    arn = f"arn:{stack.partition}:lambda:{stack.region}:{stack.account}:function:{function}"
    env = dict((props.get("Environment") or {}).get("Variables") or {})
    env.update(stack.env_overrides.get(binary, {}))
    logging = props.get("LoggingConfig") or {}
    spec = {"name": function, "binary": str(stack.bin_dir / binary), "environment": {k: str(v) for k, v in env.items()},
            "timeout": int(props.get("Timeout", 3)), "memory": int(props.get("MemorySize", 128)),
            "role_arn": props["Role"], "log_group": logging.get("LogGroup", f"/aws/lambda/{function}"),
            "architectures": props.get("Architectures", ["x86_64"])}
    stack.lambdas("PUT", f"functions/{function}", spec)
    stack.physical[name] = function
    stack.attrs[name] = {"Arn": arn}
    stack.functions[name] = {**spec, "arn": arn, "binary": binary}


def create_state_machine(stack, name, props, res):
    sfn = stack.client("stepfunctions")
    if "DefinitionS3Location" in props:
        loc = props["DefinitionS3Location"]
        text = stack.client("s3").get_object(Bucket=loc["Bucket"], Key=loc["Key"])["Body"].read().decode()
    elif "DefinitionString" in props:
        text = props["DefinitionString"]
    else:
        text = json.dumps(props["Definition"])
    # CloudFormation replaces ${Name} with DefinitionSubstitutions[Name]; a placeholder left
    # over is a deploy error, as on AWS ("Invalid State Machine Definition").
    subs = props.get("DefinitionSubstitutions") or {}
    text = re.sub(r"\$\{([A-Za-z0-9_]+)\}", lambda m: str(subs[m.group(1)]) if m.group(1) in subs else m.group(0), text)
    left = sorted(set(re.findall(r"\$\{[A-Za-z0-9_]+\}", text)))
    if left:
        raise DeployError(f"{name}: definition placeholders with no DefinitionSubstitutions: {left}")
    machine = props.get("StateMachineName") or stack.generated_name(name, 80)
    kwargs = {}
    logging = props.get("LoggingConfiguration")
    if logging:
        kwargs["loggingConfiguration"] = {
            "level": logging.get("Level", "OFF"), "includeExecutionData": bool(logging.get("IncludeExecutionData")),
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": d["CloudWatchLogsLogGroup"]["LogGroupArn"]}}
                             for d in logging.get("Destinations") or []]}
    arn = sfn.create_state_machine(name=machine, definition=text, roleArn=props["RoleArn"],
                                   type=props.get("StateMachineType", "STANDARD"),
                                   tags=[{"key": t["Key"], "value": t["Value"]} for t in _tags(props)],
                                   **kwargs)["stateMachineArn"]
    stack.physical[name] = arn
    stack.attrs[name] = {"Arn": arn, "Name": machine}


def create_events_rule(stack, name, props, res):
    events = stack.client("events")
    rule = props.get("Name") or stack.generated_name(name, 64)
    kwargs = {k: props[k] for k in ("Description", "ScheduleExpression", "State", "EventBusName") if k in props}
    if "EventPattern" in props:
        kwargs["EventPattern"] = json.dumps(props["EventPattern"])
    arn = events.put_rule(Name=rule, **kwargs)["RuleArn"]
    targets = []
    for t in props.get("Targets") or []:
        target = {k: t[k] for k in ("Id", "Arn", "RoleArn", "Input", "InputPath", "RetryPolicy") if k in t}
        targets.append(target)
    if targets:
        events.put_targets(Rule=rule, Targets=targets)
    stack.physical[name] = rule
    stack.attrs[name] = {"Arn": arn}


def create_schedule(stack, name, props, res):
    scheduler = stack.client("scheduler")
    schedule = props.get("Name") or stack.generated_name(name, 64)
    target = {k: props["Target"][k] for k in ("Arn", "RoleArn", "Input", "RetryPolicy") if k in props["Target"]}
    kwargs = {k: props[k] for k in ("Description", "ScheduleExpressionTimezone", "State", "GroupName") if k in props}
    arn = scheduler.create_schedule(Name=schedule, ScheduleExpression=props["ScheduleExpression"],
                                    FlexibleTimeWindow=props["FlexibleTimeWindow"], Target=target, **kwargs)["ScheduleArn"]
    stack.physical[name] = schedule
    stack.attrs[name] = {"Arn": arn}


def create_alarm(stack, name, props, res):
    cw = stack.client("cloudwatch")
    alarm = props.get("AlarmName") or stack.generated_name(name, 255)
    keys = ("AlarmDescription", "Metrics", "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator",
            "TreatMissingData", "AlarmActions", "OKActions", "InsufficientDataActions", "MetricName", "Namespace",
            "Statistic", "Period", "Dimensions", "Unit", "ActionsEnabled")
    kwargs = {k: props[k] for k in keys if k in props}
    for k in ("EvaluationPeriods", "DatapointsToAlarm", "Period"):
        if k in kwargs:
            kwargs[k] = int(kwargs[k])
    if "Threshold" in kwargs:
        kwargs["Threshold"] = float(kwargs["Threshold"])
    for m in kwargs.get("Metrics", []):
        if "Period" in m:
            m["Period"] = int(m["Period"])
    cw.put_metric_alarm(AlarmName=alarm, **kwargs)
    stack.physical[name] = alarm
    stack.attrs[name] = {"Arn": f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:{alarm}"}


def create_dashboard(stack, name, props, res):
    dashboard = props.get("DashboardName") or stack.generated_name(name, 255)
    stack.client("cloudwatch").put_dashboard(DashboardName=dashboard, DashboardBody=props["DashboardBody"])
    stack.physical[name] = dashboard
    stack.attrs[name] = {}


CREATORS = {
    "AWS::KMS::Key": create_kms_key,
    "AWS::KMS::Alias": create_kms_alias,
    "AWS::SNS::Topic": create_sns_topic,
    "AWS::SNS::Subscription": create_sns_subscription,
    "AWS::Logs::LogGroup": create_log_group,
    "AWS::IAM::Role": create_iam_role,
    "AWS::IAM::Policy": create_iam_policy,
    "AWS::Lambda::Function": create_lambda_function,
    "AWS::StepFunctions::StateMachine": create_state_machine,
    "AWS::Events::Rule": create_events_rule,
    "AWS::Scheduler::Schedule": create_schedule,
    "AWS::CloudWatch::Alarm": create_alarm,
    "AWS::CloudWatch::Dashboard": create_dashboard,
}


# ---------------------------------------------------------------- the whole deploy
_TRANSFORMED = {}  # (template path, its mtime, Region) -> (transformed template, code dirs, artefacts)


def transformed(path, region, stack_name):
    """package + transform, once per template version and Region (each deploy uploads the same
    artefacts again: a reset emulator has lost them)."""
    path = Path(path)
    key = (str(path), path.stat().st_mtime_ns, region, stack_name)
    if key not in _TRANSFORMED:
        artefacts = {}

        def upload(name, body):
            artefacts[f"{stack_name}/{name}"] = body
            return ARTIFACT_BUCKET, f"{stack_name}/{name}"

        template = load_template(path)
        code_dirs = package(template, path.parent, upload)
        _TRANSFORMED[key] = (sam_transform(template, {}, region), code_dirs, artefacts)
    template, code_dirs, artefacts = _TRANSFORMED[key]
    return json.loads(json.dumps(template)), code_dirs, artefacts


def deploy(client, lambda_service_url, region, account, parameters=None, bin_dir=ROOT / "target" / "debug",
           env_overrides=None, stack_name=None, path=TEMPLATE):
    """Deploys the template into the emulator behind `client(service)` (boto3 clients signed as
    the account's root, as `sam deploy` runs with an administrator's credentials). Returns the
    Stack."""
    default_name, samconfig_parameters = samconfig()
    name = stack_name or default_name
    template, code_dirs, artefacts = transformed(path, region, name)
    s3 = client("s3", region) if region != "us-east-1" else client("s3")
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=ARTIFACT_BUCKET)
        else:
            s3.create_bucket(Bucket=ARTIFACT_BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    for key, body in artefacts.items():
        s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=body)
    merged = {**samconfig_parameters, **(parameters or {})}

    def lambdas(method, path, body=None):
        req = urllib.request.Request(f"{lambda_service_url}/_local/{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    lambdas("DELETE", "functions")  # a new deployment replaces every function
    undeploy(client, name)  # a previous deployment of this stack in the same emulator: `sam delete` first
    stack = Stack(name, template, merged, region, account, client, lambdas, code_dirs, bin_dir, env_overrides)
    stack.deploy()
    cfn = client("cloudformation")
    created = {n: [stack.template["Resources"][n]["Type"], v] for n, v in stack.physical.items()}
    record = {"Metadata": {"LocalDeployment": created},
              "Resources": {"Deployed": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
              "Outputs": {k: {"Value": ",".join(v) if isinstance(v, list) else str(v)} for k, v in stack.outputs.items()}}
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(record))
    return stack


def undeploy(client, name):
    """Deletes what an earlier deployment of stack `name` created in this emulator (as `sam
    delete` would), from the record deploy() keeps in the stack's template Metadata."""
    cfn = client("cloudformation")
    try:
        body = cfn.get_template(StackName=name)["TemplateBody"]
    except cfn.exceptions.ClientError:
        return
    body = body if isinstance(body, dict) else json.loads(body)
    created = (body.get("Metadata") or {}).get("LocalDeployment") or {}
    deleters = {
        "AWS::KMS::Alias": lambda v: client("kms").delete_alias(AliasName=v),
        "AWS::KMS::Key": lambda v: client("kms").schedule_key_deletion(KeyId=v, PendingWindowInDays=7),
        "AWS::SNS::Topic": lambda v: client("sns").delete_topic(TopicArn=v),
        "AWS::Logs::LogGroup": lambda v: client("logs").delete_log_group(logGroupName=v),
        "AWS::StepFunctions::StateMachine": lambda v: client("stepfunctions").delete_state_machine(stateMachineArn=v),
        "AWS::Events::Rule": lambda v: _delete_rule(client("events"), v),
        "AWS::Scheduler::Schedule": lambda v: client("scheduler").delete_schedule(Name=v),
        "AWS::CloudWatch::Alarm": lambda v: client("cloudwatch").delete_alarms(AlarmNames=[v]),
        "AWS::CloudWatch::Dashboard": lambda v: client("cloudwatch").delete_dashboards(DashboardNames=[v]),
        "AWS::IAM::Role": lambda v: _delete_role(client("iam"), v),
    }
    for kind in deleters:  # aliases before keys, rules' targets before roles
        for logical, (typ, physical) in created.items():
            if typ == kind:
                try:
                    deleters[kind](physical)
                except Exception:  # already gone
                    pass
    cfn.delete_stack(StackName=name)


def _delete_rule(events, name):
    ids = [t["Id"] for t in events.list_targets_by_rule(Rule=name)["Targets"]]
    if ids:
        events.remove_targets(Rule=name, Ids=ids)
    events.delete_rule(Name=name)


def _delete_role(iam, name):
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    iam.delete_role(RoleName=name)

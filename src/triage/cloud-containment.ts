/**
 * Containment of a cloud launch (AN0744), per provider: `aws`, `gcp` (gcloud) or `azure` (az). The
 * playbook's order with preserve first — volume snapshots, console output and the control-plane log of
 * the key go with the instances — then isolate (a deny-all security group / firewall rule / NSG), remove
 * (stop, terminate, delete the group or fleet), revoke the credentials that made the launch, check every
 * other region, watch. Every fact is hostile: an id, key, region, project, principal or resource id goes
 * into a command only when it has its provider's shape, quoted anyway; one that does not is named in a
 * note saying why and what to do by hand. The commands are meant for one shell session: later steps use
 * the `$ids` (AWS) or instance list file (GCP) the preserve step made. Printed, never executed.
 */
import type { Finding, PlanStep } from '../model/finding.js';
import { clip, inert } from '../util/hostile.js';
import { safe, shellQuote } from './shell.js';

export type CloudPlatform = 'aws' | 'gcp' | 'azure' | 'cloud';

const DIR = 'coalmine-evidence';
const MAX_TARGETS = 16;
/** How far back the key's or principal's own activity is pulled from the control-plane log. */
const LOOKBACK_DAYS = 30;

const AWS_INSTANCE = /^i-[0-9a-f]{8,17}$/;
const AWS_KEY = /^(?:AKIA|ASIA)[A-Z0-9]{16}$/;
const AWS_REGION = /^[a-z]{2}(?:-[a-z]+)+-\d$/;
const AWS_ACCOUNT = /^\d{12}$/;
const AWS_USER = /^arn:aws[a-z-]*:iam::\d{12}:user\/(?:[\w+=,.@-]{1,64}\/){0,16}([\w+=,.@-]{1,64})$/;
const AWS_ASSUMED_ROLE = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/([\w+=,.@-]{1,64})\/[\w+=,.@-]{1,64}$/;
const AWS_ROOT = /^arn:aws[a-z-]*:iam::\d{12}:root$/;
const AWS_ASG = /^[A-Za-z0-9][\w+=,.@-]{0,254}$/;
const AWS_SPOT_FLEET = /^sfr-[0-9a-f-]{36}$/;
const AWS_EC2_FLEET = /^fleet-[0-9a-f-]{36}$/;
const GCP_PROJECT = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
const GCP_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const GCP_ID = /^\d{1,20}$/;
const GCP_REGION = /^[a-z]+-[a-z]+\d+(?:-[a-z])?$/;
const GCP_SERVICE_ACCOUNT = /^[a-z0-9][-a-z0-9]{0,62}@[a-z0-9][-a-z0-9.]{0,126}\.gserviceaccount\.com$/;
const GCP_KEY_ID = /^[0-9a-f]{40}$/;
const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const AZURE_REGION = /^[a-z][a-z0-9]{2,39}$/;
/** A VM, or a scale set's VM, by its resource id (the Activity Log's, lowercased by the reader). */
const AZURE_VM =
  /^\/subscriptions\/([0-9a-f-]{36})\/resourcegroups\/([-\w.()]{1,90})\/providers\/microsoft\.compute\/(?:virtualmachines\/[a-z0-9][-\w.]{0,63}|virtualmachinescalesets\/[a-z0-9][-\w.]{0,63}\/virtualmachines\/\d{1,10})$/i;
const AZURE_SCALE_SET = /^(\/subscriptions\/.+\/virtualmachinescalesets\/[^/]+)\/virtualmachines\/\d+$/i;

function text(f: Finding, key: string): string | undefined {
  const v = f.facts[key];
  return typeof v === 'string' ? v : undefined;
}

function list(f: Finding, key: string): string[] {
  const v = f.facts[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Why a value goes into no command: what it should look like, the value shown inert and short. */
function refused(what: string, value: string, shape: string): string {
  return `# ${what} "${inert(clip(value, 80))}" is not ${shape}: left out of every command; do this by hand`;
}

/** The fact when it has the shape, else undefined and a note (absent facts are not noted). */
function checked(
  f: Finding,
  key: string,
  what: string,
  shape: RegExp,
  shapeText: string,
  notes: string[],
): string | undefined {
  const v = text(f, key);
  if (v === undefined) return undefined;
  if (safe(v) && shape.test(v)) return v;
  notes.push(refused(what, v, shapeText));
  return undefined;
}

/** The values with the shape, at most MAX_TARGETS, and a note for each refused one. */
function checkedList(values: string[], what: string, shape: RegExp, shapeText: string, notes: string[]): string[] {
  const ok: string[] = [];
  for (const v of values) {
    if (!safe(v) || !shape.test(v)) notes.push(refused(what, v, shapeText));
    else if (ok.length < MAX_TARGETS && !ok.includes(v)) ok.push(v);
  }
  return ok;
}

/** The autoscaling group or fleet a launch's entity names (`instance:aws:ACCOUNT:group:NAME`). */
function groupOf(f: Finding): string | undefined {
  const at = f.entity.indexOf(':group:');
  return at >= 0 ? f.entity.slice(at + ':group:'.length) : undefined;
}

function count(f: Finding): number {
  const n = f.facts.instance_count;
  return typeof n === 'number' && Number.isFinite(n) ? n : 0;
}

/** `2026-11-01T02:13:05Z`: the start of the look-back before the finding's first evidence. */
function lookbackStart(f: Finding): string {
  const first = Date.parse(f.first_seen);
  const ms = Number.isFinite(first) ? first - LOOKBACK_DAYS * 86_400_000 : 0;
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** The control-plane log coalmine read for this launch (the file of its launch evidence), for the watch step. */
function auditInput(f: Finding): string {
  const e = f.evidence.find((x) => x.class === 'authorization' && x.by.startsWith('engine:launch-'));
  const file = e?.source.replace(/(?::\d+|#.*)$/, '');
  return file && safe(file) ? shellQuote(file) : '<the control-plane log>';
}

export function cloudPlatformOf(f: Finding): CloudPlatform {
  const p = f.facts.provider;
  return p === 'aws' || p === 'gcp' || p === 'azure' ? p : 'cloud';
}

export function cloudPlan(f: Finding): PlanStep[] {
  switch (cloudPlatformOf(f)) {
    case 'aws':
      return awsPlan(f);
    case 'gcp':
      return gcpPlan(f);
    case 'azure':
      return azurePlan(f);
    default:
      return unknownProviderPlan(f);
  }
}

// ——— AWS ———

/** The commands that set `$ids` to the launch's instances, or none when nothing names them. */
function awsInstanceIds(f: Finding, region: string, ids: string[], notes: string[]): string[] {
  const out: string[] = [];
  const group = groupOf(f);
  const launched = text(f, 'launched');
  const types = checkedList(
    list(f, 'instance_types'),
    'instance type',
    /^[a-z0-9]{1,16}\.[a-z0-9]{1,16}$/,
    'an EC2 instance type',
    notes,
  );
  if (ids.length > 0) out.push(`ids=${shellQuote(ids.join(' '))}   # the ${ids.length} instance ids coalmine saw`);
  if (group !== undefined) {
    if (AWS_SPOT_FLEET.test(group))
      out.push(
        `ids=$(aws ec2 describe-spot-fleet-instances${region} --spot-fleet-request-id ${group} --query 'ActiveInstances[].InstanceId' --output text)   # every instance of the spot fleet`,
      );
    else if (AWS_EC2_FLEET.test(group))
      out.push(
        `ids=$(aws ec2 describe-fleet-instances${region} --fleet-id ${group} --query 'ActiveInstances[].InstanceId' --output text)   # every instance of the fleet`,
      );
    else if (safe(group) && AWS_ASG.test(group))
      out.push(
        `ids=$(aws autoscaling describe-auto-scaling-groups${region} --auto-scaling-group-names ${shellQuote(group)} --query 'AutoScalingGroups[].Instances[].InstanceId' --output text)   # every instance of the group`,
      );
    else notes.push(refused('group', group, 'an autoscaling group, spot fleet or fleet name'));
  } else if (count(f) > ids.length && launched && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(launched)) {
    const filters = [`Name=launch-time,Values=${launched.slice(0, 16)}*`];
    if (types.length > 0) filters.push(`Name=instance-type,Values=${types.join(',')}`);
    out.push(
      `ids=$(aws ec2 describe-instances${region} --filters ${filters.map(shellQuote).join(' ')} --query 'Reservations[].Instances[].InstanceId' --output text)   # all ${count(f)} launched by the call (coalmine saw ${ids.length}): check the list before going on`,
    );
  }
  return out;
}

function awsRevoke(f: Finding, notes: string[]): string[] {
  const out: string[] = [];
  const key = checked(
    f,
    'access_key_id',
    'access key id',
    AWS_KEY,
    'an AWS access key id (AKIA/ASIA and 16 more)',
    notes,
  );
  const principal = text(f, 'principal');
  const user = principal && safe(principal) ? AWS_USER.exec(principal)?.[1] : undefined;
  const role = principal && safe(principal) ? AWS_ASSUMED_ROLE.exec(principal)?.[1] : undefined;
  const root = principal !== undefined && AWS_ROOT.test(principal);
  if (principal !== undefined && !user && !role && !root)
    notes.push(refused('principal', principal, 'an IAM user, assumed-role or root ARN'));
  if (key?.startsWith('AKIA')) {
    const owner = user
      ? shellQuote(user)
      : `"$(aws iam get-access-key-last-used --access-key-id ${key} --query UserName --output text)"`;
    out.push(
      `aws iam update-access-key --status Inactive --access-key-id ${key} --user-name ${owner}   # the long-term key that launched: it stops working at once`,
    );
  }
  if (user)
    out.push(
      `aws iam list-access-keys --user-name ${shellQuote(user)}   # its other keys: deactivate each nobody can vouch for; issue a new one once the leak is found`,
      `aws iam list-attached-user-policies --user-name ${shellQuote(user)}; aws iam list-user-policies --user-name ${shellQuote(user)}   # narrow what it may launch`,
    );
  if (role) {
    const deny =
      '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"%s"}}}]}';
    out.push(
      `aws iam put-role-policy --role-name ${shellQuote(role)} --policy-name coalmine-revoke-older-sessions --policy-document "$(printf ${shellQuote(deny)} "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"   # every session of the role issued before now is refused (the console's "Revoke active sessions")`,
      `aws iam get-role --role-name ${shellQuote(role)} --query Role.AssumeRolePolicyDocument   # who may assume it again: narrow that before the deny is removed`,
    );
  } else if (key?.startsWith('ASIA'))
    out.push(
      `# ${key} is a temporary session key: revoke the sessions of the role or user that issued it (aws iam get-access-key-last-used --access-key-id ${key})`,
    );
  if (root)
    out.push(
      '# the root user launched: rotate its password, delete its access keys (aws iam list-access-keys run as root) and require MFA, from the console',
    );
  if (out.length === 0)
    out.push(
      '# no access key or principal that can be revoked is known: find the caller in CloudTrail (userIdentity) and revoke it',
    );
  return out;
}

function awsPlan(f: Finding): PlanStep[] {
  const notes: string[] = [];
  const regionName = checked(f, 'region', 'region', AWS_REGION, 'an AWS region (us-east-1)', notes);
  const r = regionName ? ` --region ${regionName}` : '';
  if (!regionName) notes.push('# no valid region is known: the commands use your CLI default region; set --region');
  const account = checked(f, 'account', 'account', AWS_ACCOUNT, 'a 12-digit AWS account id', notes);
  const ids = checkedList(
    list(f, 'instances'),
    'instance id',
    AWS_INSTANCE,
    'an EC2 instance id (i- and 8-17 hex)',
    notes,
  );
  const setIds = awsInstanceIds(f, r, ids, notes);
  const key = text(f, 'access_key_id');
  const keyOk = key !== undefined && safe(key) && AWS_KEY.test(key) ? key : undefined;
  const principal = text(f, 'principal');
  const userName =
    principal && safe(principal) ? (AWS_USER.exec(principal)?.[1] ?? AWS_ASSUMED_ROLE.exec(principal)?.[1]) : undefined;
  const revoke = awsRevoke(f, notes);
  const since = lookbackStart(f);
  const regions = `$(aws ec2 describe-regions --query 'Regions[].RegionName' --output text)`;
  const where = `${account ? `account ${account}` : 'the account'}${regionName ? ` ${regionName}` : ''}`;
  const group = groupOf(f);
  const asg =
    group !== undefined &&
    !AWS_SPOT_FLEET.test(group) &&
    !AWS_EC2_FLEET.test(group) &&
    safe(group) &&
    AWS_ASG.test(group)
      ? group
      : undefined;
  const anyInstance = setIds.length > 0;

  const trail = keyOk
    ? `AttributeKey=AccessKeyId,AttributeValue=${keyOk}`
    : userName
      ? `AttributeKey=Username,AttributeValue=${shellQuote(userName)}`
      : undefined;
  const preserve = [...notes, `mkdir -p ${DIR}`, ...setIds];
  if (anyInstance)
    preserve.push(
      `aws ec2 describe-instances${r} --instance-ids $ids > ${DIR}/aws.instances.json`,
      `for i in $ids; do aws ec2 create-snapshots${r} --instance-specification InstanceId=$i --description "coalmine AN0744 $i" --copy-tags-from-source volume; done   # every volume, before anything is stopped`,
      `for i in $ids; do aws ec2 get-console-output${r} --instance-id $i --latest --output text > ${DIR}/$i.console.txt; done`,
    );
  else preserve.push('# no instance was launched or named (a denied attempt): only the control-plane log to keep');
  if (trail)
    preserve.push(
      `for r in ${regions}; do aws cloudtrail lookup-events --region "$r" --lookup-attributes ${trail} --start-time ${since} > "${DIR}/cloudtrail.$r.json"; done   # everything ${keyOk ? 'the key' : 'the principal'} did in ${LOOKBACK_DAYS} days, in every region`,
    );
  preserve.push(`sha256sum ${DIR}/* > ${DIR}/SHA256SUMS`);

  const isolate: string[] = [];
  if (asg)
    isolate.push(
      `aws autoscaling suspend-processes${r} --auto-scaling-group-name ${shellQuote(asg)}   # no replacement or scale-out while it is contained`,
    );
  if (anyInstance)
    isolate.push(
      `vpc=$(aws ec2 describe-instances${r} --instance-ids $ids --query 'Reservations[0].Instances[0].VpcId' --output text)`,
      `sg=$(aws ec2 create-security-group${r} --vpc-id "$vpc" --group-name coalmine-isolate-AN0744 --description 'coalmine AN0744 isolation: no rules, deny all' --query GroupId --output text)`,
      `aws ec2 revoke-security-group-egress${r} --group-id "$sg" --ip-permissions 'IpProtocol=-1,IpRanges=[{CidrIp=0.0.0.0/0}]'   # a new group allows all egress until this`,
      `aws ec2 revoke-security-group-egress${r} --group-id "$sg" --ip-permissions 'IpProtocol=-1,Ipv6Ranges=[{CidrIpv6=::/0}]' 2>/dev/null   # and IPv6 egress, present in a VPC with IPv6`,
      `for i in $ids; do aws ec2 modify-instance-attribute${r} --instance-id $i --groups "$sg"; done   # the only group of each primary interface; open connections may live on until they close`,
    );
  else isolate.push('# nothing runs to isolate');

  const remove: string[] = [];
  if (anyInstance) {
    remove.push(
      `aws ec2 stop-instances${r} --instance-ids $ids   # stops the miner and the bill; memory is lost, the volumes stay`,
      `for i in $ids; do aws ec2 modify-instance-attribute${r} --instance-id $i --no-disable-api-termination; done   # termination protection an attacker may have set`,
      `aws ec2 describe-instances${r} --instance-ids $ids --query "Reservations[].Instances[].Tags[?Key=='aws:ec2launchtemplate:id'].Value" --output text | tr '\\t' '\\n' | sort -u   # the launch templates used: aws ec2 delete-launch-template${r} --launch-template-id <each> once nothing legitimate uses it`,
    );
    if (group !== undefined && AWS_SPOT_FLEET.test(group))
      remove.push(`aws ec2 cancel-spot-fleet-requests${r} --spot-fleet-request-ids ${group} --terminate-instances`);
    else if (group !== undefined && AWS_EC2_FLEET.test(group))
      remove.push(`aws ec2 delete-fleets${r} --fleet-ids ${group} --terminate-instances`);
    else if (asg)
      remove.push(
        `aws autoscaling delete-auto-scaling-group${r} --auto-scaling-group-name ${shellQuote(asg)} --force-delete   # and its instances`,
      );
    remove.push(
      `aws ec2 describe-snapshots${r} --owner-ids self --filters 'Name=description,Values=coalmine AN0744 *' --query 'Snapshots[].[SnapshotId,State]' --output text   # wait until every one is completed`,
      `aws ec2 terminate-instances${r} --instance-ids $ids`,
    );
  } else remove.push('# nothing was launched: nothing to remove here (check the other regions below)');

  const elsewhere = [
    `for r in ${regions}; do echo "== $r"; aws ec2 describe-instances --region "$r" --filters Name=instance-state-name,Values=pending,running --query 'Reservations[].Instances[].[InstanceId,InstanceType,LaunchTime,KeyName]' --output text; done   # instances in every enabled region: an attacker enables new ones`,
    `aws ec2 describe-regions --all-regions --filters Name=opt-in-status,Values=opted-in --query 'Regions[].RegionName' --output text   # regions opted into: was each one yours?`,
  ];
  if (keyOk)
    elsewhere.push(
      `for r in ${regions}; do aws cloudtrail lookup-events --region "$r" --lookup-attributes AttributeKey=EventName,AttributeValue=RunInstances --start-time ${since} --query 'Events[].[EventTime,Username,AccessKeyId]' --output text | grep -F ${keyOk}; done   # launches by the same key anywhere`,
    );

  return [
    {
      phase: 'preserve',
      action: `Preserve first, in one shell session (later steps use $ids): snapshot every volume, keep the console output and what the ${keyOk ? 'key' : 'principal'} did in CloudTrail, ${where}`,
      commands: preserve,
    },
    {
      phase: 'isolate',
      action:
        'Cut the instances off with a deny-all security group (no rules, default egress revoked), keeping them for the investigation',
      commands: isolate,
    },
    {
      phase: 'patch',
      action: 'Revoke the credentials that launched them: deactivate the access key, refuse the role’s older sessions',
      commands: revoke,
    },
    {
      phase: 'remove',
      action:
        'Stop, then terminate once the snapshots are completed; delete the group or fleet and the launch templates it used',
      commands: remove,
    },
    {
      phase: 'remove',
      action: 'Check every other region for the same launches and remove them the same way',
      commands: elsewhere,
    },
    {
      phase: 'watch',
      action: 'Watch for recurrence: GuardDuty, a billing alarm, coalmine on CloudTrail',
      commands: [
        `aws guardduty list-detectors${r}   # none listed: aws guardduty create-detector --enable${r} (in every region you use)`,
        `aws cloudwatch put-metric-alarm --region us-east-1 --alarm-name coalmine-estimated-charges --namespace AWS/Billing --metric-name EstimatedCharges --dimensions Name=Currency,Value=USD --statistic Maximum --period 21600 --evaluation-periods 1 --comparison-operator GreaterThanThreshold --threshold <your usual month in USD> --alarm-actions <an SNS topic ARN>   # needs billing alerts on`,
        `coalmine hunt ${auditInput(f)} --fail-on low   # daily, with the VPC flow logs and CloudWatch metrics beside it`,
      ],
    },
  ];
}

// ——— GCP ———

function gcpPlan(f: Finding): PlanStep[] {
  const notes: string[] = [];
  const project = checked(f, 'account', 'project', GCP_PROJECT, 'a GCP project id', notes);
  const region = checked(f, 'region', 'region', GCP_REGION, 'a GCP region or zone (us-central1)', notes);
  const raw = list(f, 'instances');
  const ids = checkedList(
    raw,
    'instance',
    new RegExp(`${GCP_ID.source}|${GCP_NAME.source}`),
    'a GCP instance id or name',
    notes,
  );
  const byId = ids.filter((x) => GCP_ID.test(x));
  const byName = ids.filter((x) => !GCP_ID.test(x) && GCP_NAME.test(x));
  const principal = text(f, 'principal');
  const sa = principal && safe(principal) && GCP_SERVICE_ACCOUNT.test(principal) ? principal : undefined;
  const user = !sa && principal && safe(principal) && EMAIL.test(principal) ? principal : undefined;
  if (principal !== undefined && !sa && !user)
    notes.push(refused('principal', principal, 'a service account or user email'));
  const key = checked(
    f,
    'access_key_id',
    'service account key',
    GCP_KEY_ID,
    'a service account key id (40 hex)',
    notes,
  );
  const p = project ? ` --project ${project}` : '';
  if (!project) notes.push('# no valid project is known: the commands use your gcloud default project; set --project');
  const file = `${DIR}/gcp.instances.txt`;
  const each = (body: string) => `while read -r name zone; do ${body}; done < ${file}`;
  const at = `"$name" --zone "$zone"${p}`;
  const filter = [byId.length ? `id=(${byId.join(' ')})` : '', byName.length ? `name=(${byName.join(' ')})` : '']
    .filter(Boolean)
    .join(' OR ');
  const launched = text(f, 'launched');
  const sinceDay = lookbackStart(f).slice(0, 10);
  const anyInstance = filter !== '';

  const preserve = [...notes, `mkdir -p ${DIR}`];
  if (anyInstance) {
    preserve.push(
      `gcloud compute instances list${p} --filter ${shellQuote(filter)} --format 'value(name,zone.basename())' > ${file}   # name and zone of each instance coalmine saw`,
    );
    if (count(f) > ids.length && launched && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(launched))
      preserve.push(
        `gcloud compute instances list${p} --filter ${shellQuote(`creationTimestamp>=${launched.slice(0, 16)} AND creationTimestamp<=${new Date(Date.parse(launched) + 600_000).toISOString().slice(0, 16)}`)} --format 'value(name,zone.basename())' | sort -u - ${file} -o ${file}   # all ${count(f)} launched then (coalmine saw ${ids.length}): check the list`,
      );
    preserve.push(
      each(`gcloud compute instances describe ${at} --format json > "${DIR}/$name.json"`),
      each(`gcloud compute instances get-serial-port-output ${at} > "${DIR}/$name.serial.txt"`),
      each(
        `for d in $(gcloud compute instances describe ${at} --format 'value(disks[].source.basename())' | tr ';' ' '); do gcloud compute disks snapshot "$d" --zone "$zone"${p} --description 'coalmine AN0744'; done`,
      ),
    );
  } else preserve.push('# no instance was launched or named (a denied attempt): only the audit log to keep');
  if (sa || user)
    preserve.push(
      `gcloud logging read ${shellQuote(`protoPayload.authenticationInfo.principalEmail="${sa ?? user}"`)}${p} --freshness ${LOOKBACK_DAYS}d --format json > ${DIR}/audit.principal.json   # everything it did`,
    );
  preserve.push(`sha256sum ${DIR}/* > ${DIR}/SHA256SUMS`);

  const isolate = anyInstance
    ? [
        `read -r name zone < ${file}; net=$(gcloud compute instances describe ${at} --format 'value(networkInterfaces[0].network.basename())')`,
        `gcloud compute firewall-rules create coalmine-deny-egress${p} --network "$net" --direction EGRESS --action DENY --rules all --destination-ranges 0.0.0.0/0 --priority 0 --target-tags coalmine-quarantine`,
        `gcloud compute firewall-rules create coalmine-deny-ingress${p} --network "$net" --direction INGRESS --action DENY --rules all --source-ranges 0.0.0.0/0 --priority 0 --target-tags coalmine-quarantine`,
        each(`gcloud compute instances add-tags ${at} --tags coalmine-quarantine`),
      ]
    : ['# nothing runs to isolate'];

  const revoke: string[] = [];
  if (sa) {
    revoke.push(
      `gcloud iam service-accounts keys list --iam-account ${shellQuote(sa)}${p} --managed-by user   # user-managed keys: the kind that leak`,
    );
    if (key) revoke.push(`gcloud iam service-accounts keys disable ${key} --iam-account ${shellQuote(sa)}${p}`);
    else
      revoke.push(
        `for k in $(gcloud iam service-accounts keys list --iam-account ${shellQuote(sa)}${p} --managed-by user --format 'value(name.basename())'); do gcloud iam service-accounts keys disable "$k" --iam-account ${shellQuote(sa)}${p}; done   # the key used is not known: every user-managed key; re-issue what a legitimate job needs`,
      );
  } else if (user)
    revoke.push(
      `# ${user} is a user: suspend it or reset its password and sign-in sessions in the Google Workspace / Cloud Identity admin console`,
    );
  else revoke.push('# no principal is known: find the caller in the audit log (authenticationInfo.principalEmail)');
  if ((sa || user) && project)
    revoke.push(
      `gcloud projects get-iam-policy ${project} --flatten 'bindings[].members' --filter ${shellQuote(`bindings.members:${sa ?? user}`)} --format 'table(bindings.role)'   # the roles it holds: remove what it need not have`,
    );

  const remove = anyInstance
    ? [
        each(`gcloud compute instances stop ${at}`),
        `gcloud compute snapshots list${p} --filter 'description="coalmine AN0744"' --format 'table(name,status)'   # wait until every one is READY`,
        each(`gcloud compute instances delete ${at} --quiet`),
        `gcloud compute instance-groups managed list${p}   # a managed group recreates what was deleted: delete the group (and its template) if it is the attacker's`,
      ]
    : ['# nothing was launched: nothing to remove here (check the other regions below)'];
  const elsewhere = [
    `for q in $(gcloud projects list --format 'value(projectId)'); do echo "== $q"; gcloud compute instances list --project "$q" --filter ${shellQuote(`creationTimestamp>=${sinceDay}`)} --format 'table(name,zone.basename(),machineType.basename(),creationTimestamp)'; done   # every zone of every project`,
  ];
  if (sa || user)
    elsewhere.push(
      `gcloud logging read ${shellQuote(`protoPayload.methodName:"compute.instances" AND protoPayload.authenticationInfo.principalEmail="${sa ?? user}"`)}${p} --freshness ${LOOKBACK_DAYS}d --format 'table(timestamp,protoPayload.methodName,protoPayload.resourceName)'   # its compute calls`,
    );

  return [
    {
      phase: 'preserve',
      action: `Preserve first, in one shell session (later steps read ${file}): snapshot every disk, keep the serial output and the principal's audit log${region ? ` (${region})` : ''}`,
      commands: preserve,
    },
    {
      phase: 'isolate',
      action: 'Cut the instances off: deny-all firewall rules on a quarantine tag, then tag them',
      commands: isolate,
    },
    {
      phase: 'patch',
      action: 'Revoke the credentials that launched them: disable the service account key',
      commands: revoke,
    },
    { phase: 'remove', action: 'Stop, then delete once the snapshots are ready', commands: remove },
    { phase: 'remove', action: 'Check every other zone and project for the same launches', commands: elsewhere },
    {
      phase: 'watch',
      action: 'Watch for recurrence: a budget alert, coalmine on the audit log',
      commands: [
        'gcloud billing budgets create --billing-account <your billing account> --display-name coalmine --budget-amount <your usual month>USD --threshold-rule percent=0.9',
        `coalmine hunt ${auditInput(f)} --fail-on low   # daily, with the VPC flow logs and Cloud Monitoring CPU beside it`,
      ],
    },
  ];
}

// ——— Azure ———

function azurePlan(f: Finding): PlanStep[] {
  const notes: string[] = [];
  const subscription = checked(f, 'account', 'subscription', GUID, 'a subscription id (GUID)', notes);
  const region = checked(f, 'region', 'region', AZURE_REGION, 'an Azure region (eastus)', notes);
  const vms = checkedList(list(f, 'instances'), 'VM', AZURE_VM, 'a virtual machine resource id', notes);
  const principal = text(f, 'principal');
  const principalId = principal && safe(principal) && GUID.test(principal) ? principal : undefined;
  // a service principal signs in with its application id (the reader's access key): its credentials hang on that
  const key = text(f, 'access_key_id');
  const appId = key && safe(key) && GUID.test(key) ? key : principalId;
  const upn = !principalId && principal && safe(principal) && EMAIL.test(principal) ? principal : undefined;
  if (principal !== undefined && !principalId && !upn)
    notes.push(refused('principal', principal, 'an object or app id (GUID) or a user principal name'));
  const s = subscription ? ` --subscription ${subscription}` : '';
  const quoted = vms.map(shellQuote).join(' ');
  const groups = [...new Set(vms.map((id) => AZURE_VM.exec(id)?.[2]).filter((g): g is string => !!g))];
  const scaleSets = [...new Set(vms.map((id) => AZURE_SCALE_SET.exec(id)?.[1]).filter((x): x is string => !!x))];
  const plainVms = vms.filter((id) => !AZURE_SCALE_SET.test(id));
  const anyInstance = vms.length > 0;
  const caller = appId ?? upn;

  const preserve = [...notes, `mkdir -p ${DIR}`];
  if (anyInstance) {
    if (count(f) > vms.length)
      preserve.push(
        `# ${count(f)} were launched and coalmine saw ${vms.length}: list the rest with az vm list${s} (see the region check below)`,
      );
    preserve.push(
      `az vm show --ids ${quoted} > ${DIR}/azure.vms.json`,
      `for id in ${quoted}; do rg=$(echo "$id" | cut -d/ -f5); for d in $(az vm show --ids "$id" --query '[storageProfile.osDisk.managedDisk.id, storageProfile.dataDisks[].managedDisk.id] | []' -o tsv); do az snapshot create -g "$rg" -n "coalmine-$(basename "$d")" --source "$d"; done; done   # every managed disk, before anything is stopped`,
      `for id in ${quoted}; do az vm boot-diagnostics get-boot-log --ids "$id" > "${DIR}/$(basename "$id").boot.txt"; done`,
    );
  } else preserve.push('# no VM was launched or named (a denied attempt): only the Activity Log to keep');
  if (caller)
    preserve.push(
      `az monitor activity-log list${s} --caller ${shellQuote(caller)} --offset ${LOOKBACK_DAYS}d > ${DIR}/activity.caller.json   # everything it did`,
    );
  preserve.push(`sha256sum ${DIR}/* > ${DIR}/SHA256SUMS`);

  const isolate: string[] = [];
  for (const rg of groups) {
    const g = shellQuote(rg);
    isolate.push(
      `az network nsg create${s} -g ${g} -n coalmine-isolate${region ? ` -l ${region}` : ''}`,
      `az network nsg rule create${s} -g ${g} --nsg-name coalmine-isolate -n coalmine-deny-out --priority 100 --direction Outbound --access Deny --protocol '*' --destination-address-prefixes '*' --destination-port-ranges '*'`,
      `az network nsg rule create${s} -g ${g} --nsg-name coalmine-isolate -n coalmine-deny-in --priority 100 --direction Inbound --access Deny --protocol '*' --source-address-prefixes '*' --destination-port-ranges '*'`,
    );
  }
  if (anyInstance)
    isolate.push(
      `for id in ${quoted}; do rg=$(echo "$id" | cut -d/ -f5); for nic in $(az vm show --ids "$id" --query 'networkProfile.networkInterfaces[].id' -o tsv); do az network nic update --ids "$nic" --network-security-group "$(az network nsg show${s} -g "$rg" -n coalmine-isolate --query id -o tsv)"; done; done   # a scale set VM: attach it in the scale set's network profile instead`,
    );
  else isolate.push('# nothing runs to isolate');

  const revoke: string[] = [];
  if (appId)
    revoke.push(
      `az ad sp credential reset --id ${appId}   # replaces the service principal's secrets: the leaked one stops working; hand the new one to its owner`,
    );
  else if (upn)
    revoke.push(
      `az ad user update --id ${shellQuote(upn)} --account-enabled false`,
      `az rest --method POST --url ${shellQuote(`https://graph.microsoft.com/v1.0/users/${upn}/revokeSignInSessions`)}   # its refresh tokens and sessions`,
    );
  else revoke.push('# no principal is known: find the caller in the Activity Log (caller, claims) and revoke it');
  if (caller)
    revoke.push(
      `az role assignment list --all --assignee ${shellQuote(caller)} -o table   # what it may do: remove what it need not have`,
    );

  const remove: string[] = [];
  if (plainVms.length > 0)
    remove.push(
      `az vm deallocate --ids ${plainVms.map(shellQuote).join(' ')}   # stops the miner and the compute bill; disks stay`,
      `az snapshot list${s} --query "[?starts_with(name, 'coalmine-')].[name,provisioningState]" -o tsv   # wait until every one succeeded`,
      `az vm delete --ids ${plainVms.map(shellQuote).join(' ')} --yes`,
    );
  for (const set of scaleSets)
    remove.push(`az vmss delete --ids ${shellQuote(set)}   # the scale set and its VMs, once the snapshots exist`);
  if (remove.length === 0)
    remove.push('# nothing was launched: nothing to remove here (check the other regions below)');

  const elsewhere = [
    `for q in $(az account list --query '[].id' -o tsv); do echo "== $q"; az vm list --subscription "$q" --query '[].[name,location,hardwareProfile.vmSize,timeCreated]' -o tsv | sort -k4; done   # every region of every subscription: look for VMs created since ${lookbackStart(f).slice(0, 10)}`,
  ];
  if (caller)
    elsewhere.push(
      `az monitor activity-log list${s} --caller ${shellQuote(caller)} --offset ${LOOKBACK_DAYS}d --query "[?contains(operationName.value, 'Microsoft.Compute/')].[eventTimestamp,operationName.value,resourceId]" -o tsv   # its compute writes anywhere`,
    );

  return [
    {
      phase: 'preserve',
      action: `Preserve first: snapshot every managed disk, keep the boot log and the caller's Activity Log${region ? ` (${region})` : ''}`,
      commands: preserve,
    },
    {
      phase: 'isolate',
      action: 'Cut the VMs off with a deny-all network security group on their interfaces',
      commands: isolate,
    },
    {
      phase: 'patch',
      action: 'Revoke the credentials that launched them: reset the service principal’s secrets or disable the user',
      commands: revoke,
    },
    { phase: 'remove', action: 'Deallocate, then delete once the snapshots exist', commands: remove },
    { phase: 'remove', action: 'Check every other region and subscription for the same launches', commands: elsewhere },
    {
      phase: 'watch',
      action: 'Watch for recurrence: Defender for Servers, a budget, coalmine on the Activity Log',
      commands: [
        `az security pricing create${s} -n VirtualMachines --tier standard   # Defender for Servers alerts on miners`,
        `az consumption budget create${s} --budget-name coalmine --amount <your usual month> --category cost --time-grain monthly --start-date <first of this month> --end-date <a year on>`,
        `coalmine hunt ${auditInput(f)} --fail-on low   # daily, with the NSG flow logs and Azure Monitor CPU beside it`,
      ],
    },
  ];
}

function unknownProviderPlan(f: Finding): PlanStep[] {
  const p = text(f, 'provider');
  const said = p === undefined ? 'no provider' : `provider "${inert(clip(p, 40))}"`;
  const note = `# ${said}: not aws, gcp or azure, so no commands; follow your provider's runbook`;
  return [
    { phase: 'preserve', action: 'Snapshot the instances’ disks and keep the control-plane log', commands: [note] },
    { phase: 'isolate', action: 'Deny all traffic to and from the instances', commands: [] },
    { phase: 'patch', action: 'Revoke the credentials that launched them', commands: [] },
    {
      phase: 'remove',
      action: 'Stop, then delete the instances and what launched them; check every region',
      commands: [],
    },
    { phase: 'watch', action: 'Watch for recurrence', commands: [] },
  ];
}
